/**
 * The demo's authorization server: a real node-oidc-provider (v9) with resource indicators and JWT
 * access tokens, the audtrail collector attached. It carries three misconfigurations the agent's
 * attacks exercise, each a documented extension point of oidc-provider:
 * - `defaultResource` gives a token requested without `resource` the API's audience;
 * - `getResourceServerInfo` finds a resource by its spelling without a trailing slash, and puts the
 *   spelling the client asked for in `aud` (drift);
 * - a JWT customizer widens user-delegated (authorization code) tokens for MCP server A to the API.
 *
 * It also signs audtrail's own callers in (docs/console.md): the console (authorization code +
 * PKCE, a user who logs in with a username and password on a page of this server) and a machine
 * client (client credentials) for the demo's emitters and API reads; their tokens are JWTs for
 * the audtrail API's audience carrying `audtrail_tenant` and `audtrail_roles`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair } from 'jose'
import Provider, { errors } from 'oidc-provider'
import { attachOidcProvider } from '../collectors/oidc-provider.js'
import type { Emitter } from '../collectors/types.js'
import { AGENT, API, MCP_A, RESOURCE_SERVERS, TOKEN_TTL_S, USER } from './scenario.js'

/**
 * The audtrail console as a client of this server (docs/console.md): a public client (PKCE), its
 * access tokens JWTs for `audience` carrying the claims the audtrail API reads.
 */
export interface ConsoleClient {
  clientId: string
  redirectUris: string[]
  /** The audtrail API's audience (AUDTRAIL_API_AUDIENCE). */
  audience: string
  tenant: string
  roles: string[]
  /**
   * The user who signs in to the console, on a login page of this server. Absent: the user USER
   * is signed in without a page (as the agent's authorization code flow is).
   */
  login?: { username: string; password: string }
}

/** A machine caller of the audtrail API (ingest, reads): client credentials, a client secret. */
export interface MachineClient {
  clientId: string
  secret: string
  /** The audtrail API's audience (AUDTRAIL_API_AUDIENCE), asked for as `resource`. */
  audience: string
  tenant: string
  roles: string[]
  /** Access token lifetime in seconds. */
  ttlS: number
}

/** The scope the console's tokens carry for the audtrail API. */
export const CONSOLE_SCOPE = 'audtrail'

export interface DemoAuthorizationServer {
  issuer: string
  jwksUri: string
  close(): Promise<void>
}

function ttl(resource: string | undefined): number {
  return (TOKEN_TTL_S as Record<string, number>)[resource ?? ''] ?? TOKEN_TTL_S.default
}

export async function startAuthorizationServer(
  emitter: Emitter,
  options: { console?: ConsoleClient; machine?: MachineClient } = {},
): Promise<DemoAuthorizationServer> {
  const consoleClient = options.console
  const machine = options.machine
  /** The audtrail API's audience and the claims each of its clients gets. */
  const audtrail = new Map<string, { audience: string; tenant: string; roles: string[] }>()
  if (consoleClient) audtrail.set(consoleClient.clientId, consoleClient)
  if (machine) audtrail.set(machine.clientId, machine)
  const audiences = new Set([...audtrail.values()].map((c) => c.audience))
  // The issuer needs the port, so the server listens before the provider exists.
  const late = {} as { provider: Provider }
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      interaction(late.provider, req, res, audiences, consoleClient).catch(() => {
        if (!res.headersSent) res.statusCode = 500
        res.end('interaction failed')
      })
      return
    }
    late.provider.callback()(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const { privateKey } = await generateKeyPair('RS256', { extractable: true })
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: AGENT.id,
        client_secret: AGENT.secret,
        grant_types: ['client_credentials', 'authorization_code'],
        redirect_uris: [AGENT.redirect],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
      ...(consoleClient
        ? [
            {
              client_id: consoleClient.clientId,
              grant_types: ['authorization_code'],
              redirect_uris: consoleClient.redirectUris,
              response_types: ['code'] as ['code'],
              token_endpoint_auth_method: 'none' as const,
            },
          ]
        : []),
      ...(machine
        ? [
            {
              client_id: machine.clientId,
              client_secret: machine.secret,
              grant_types: ['client_credentials'],
              redirect_uris: [],
              response_types: [] as [],
              token_endpoint_auth_method: 'client_secret_post' as const,
            },
          ]
        : []),
    ],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'demo-1' }] },
    cookies: { keys: ['audtrail-demo-cookie-key'] },
    ttl: {
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      IdToken: 600,
      AccessToken: (_ctx, token) =>
        token.resourceServer?.accessTokenTTL ?? ttl(token.resourceServer?.identifier()),
      ClientCredentials: (_ctx, token) =>
        token.resourceServer?.accessTokenTTL ?? ttl(token.resourceServer?.identifier()),
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Misconfiguration: a request without `resource` still gets an audience.
        defaultResource: () => API,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource, client) => {
          if (audiences.has(resource))
            return {
              scope: CONSOLE_SCOPE,
              audience: resource,
              accessTokenTTL: machine && client.clientId === machine.clientId ? machine.ttlS : 3600,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: 'RS256' } },
            }
          // Misconfiguration: a lookup that forgives a trailing slash but echoes it into `aud`.
          const known = RESOURCE_SERVERS[resource] ?? RESOURCE_SERVERS[resource.replace(/\/$/, '')]
          if (known === undefined) throw new errors.InvalidTarget()
          return {
            scope: known.scope,
            audience: resource,
            accessTokenTTL: ttl(resource),
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          }
        },
      },
    },
    formats: {
      customizers: {
        // Misconfiguration: user-delegated tokens for MCP server A also name the API.
        jwt: (_ctx, token, jwt) => {
          // audtrail's own callers' tokens carry its tenant and role claims (src/api/auth.ts).
          const caller = audtrail.get(String(token.clientId))
          if (caller && jwt.payload.aud === caller.audience) {
            jwt.payload.audtrail_tenant = caller.tenant
            jwt.payload.audtrail_roles = caller.roles
          }
          if (token.kind === 'AccessToken' && jwt.payload.aud === MCP_A)
            jwt.payload.aud = [MCP_A, API]
        },
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  })
  late.provider = provider
  const collector = attachOidcProvider(provider, { emitter, source: { id: 'demo-as' } })
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    close: () =>
      new Promise<void>((resolve) => {
        collector.detach()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/**
 * The host's login and consent pages. The console's user (when `login` is set) signs in on a form
 * with the demo's username and password; everyone else, and a user already signed in here, is
 * USER (or that user) granting what was asked, without a page.
 */
async function interaction(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
  audiences: ReadonlySet<string>,
  consoleClient: ConsoleClient | undefined,
): Promise<void> {
  const details = await provider.interactionDetails(req, res)
  const clientId = String(details.params.client_id)
  const login = clientId === consoleClient?.clientId ? consoleClient.login : undefined
  const signedIn = details.session?.accountId
  if (!login || signedIn !== undefined) {
    await finish(provider, req, res, signedIn ?? USER, audiences)
    return
  }
  if (req.method !== 'POST') {
    loginPage(res, details.uid, false)
    return
  }
  const form = new URLSearchParams(await body(req))
  if (form.get('username') !== login.username || form.get('password') !== login.password) {
    loginPage(res, details.uid, true)
    return
  }
  await finish(provider, req, res, login.username, audiences)
}

async function body(req: IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of req) {
    text += String(chunk)
    if (text.length > 10_000) throw new Error('form too large')
  }
  return text
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** The demo's login form: it posts back to the interaction's own URL. */
function loginPage(res: ServerResponse, uid: string, failed: boolean): void {
  res.statusCode = failed ? 401 : 200
  res.setHeader('content-type', 'text/html; charset=utf-8')
  res.setHeader('cache-control', 'no-store')
  res.setHeader(
    'content-security-policy',
    "default-src 'none'; form-action 'self' http://127.0.0.1:* http://localhost:*; frame-ancestors 'none'",
  )
  res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in: audtrail demo</title></head>
<body><main>
<h1>Sign in to the audtrail console</h1>
<p>The demo's authorization server (node-oidc-provider).</p>
${failed ? '<p role="alert">Wrong username or password.</p>' : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}">
<p><label for="username">Username</label> <input id="username" name="username" autocomplete="username" required></p>
<p><label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button></p>
</form>
</main></body></html>
`)
}

/** `accountId` signs in and grants what was asked (openid and the requested resources). */
async function finish(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
  accountId: string,
  audiences: ReadonlySet<string>,
): Promise<void> {
  const { params } = await provider.interactionDetails(req, res)
  const grant = new provider.Grant({ accountId, clientId: String(params.client_id) })
  grant.addOIDCScope('openid')
  const requested = params.resource === undefined ? [] : [params.resource].flat()
  for (const resource of requested as string[]) {
    const known = RESOURCE_SERVERS[resource]
    if (known !== undefined) grant.addResourceScope(resource, known.scope)
    else if (audiences.has(resource)) grant.addResourceScope(resource, CONSOLE_SCOPE)
  }
  const grantId = await grant.save()
  await provider.interactionFinished(req, res, {
    login: { accountId },
    consent: { grantId },
  })
}
