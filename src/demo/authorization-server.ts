/**
 * The demo's authorization server: a real node-oidc-provider (v9) with resource indicators and JWT
 * access tokens, the audtrail collector attached. It carries three misconfigurations the agent's
 * attacks exercise, each a documented extension point of oidc-provider:
 * - `defaultResource` gives a token requested without `resource` the API's audience;
 * - `getResourceServerInfo` finds a resource by its spelling without a trailing slash, and puts the
 *   spelling the client asked for in `aud` (drift);
 * - a JWT customizer widens user-delegated (authorization code) tokens for MCP server A to the API.
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
  options: { console?: ConsoleClient } = {},
): Promise<DemoAuthorizationServer> {
  const consoleClient = options.console
  // The issuer needs the port, so the server listens before the provider exists.
  const late = {} as { provider: Provider; audience?: string }
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      finishInteraction(late.provider, req, res, late.audience).catch(() => {
        res.statusCode = 500
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
    ],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'demo-1' }] },
    cookies: { keys: ['audtrail-demo-cookie-key'] },
    ttl: {
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      IdToken: 600,
      AccessToken: (_ctx, token) => ttl(token.resourceServer?.identifier()),
      ClientCredentials: (_ctx, token) => ttl(token.resourceServer?.identifier()),
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Misconfiguration: a request without `resource` still gets an audience.
        defaultResource: () => API,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (consoleClient && resource === consoleClient.audience)
            return {
              scope: CONSOLE_SCOPE,
              audience: resource,
              accessTokenTTL: 3600,
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
          // The console's tokens carry the audtrail API's tenant and role claims (auth.ts).
          if (consoleClient && jwt.payload.aud === consoleClient.audience) {
            jwt.payload.audtrail_tenant = consoleClient.tenant
            jwt.payload.audtrail_roles = consoleClient.roles
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
  late.audience = consoleClient?.audience
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

/** The host's login and consent page, automated: USER signs in and grants what was asked. */
async function finishInteraction(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
  audience: string | undefined,
): Promise<void> {
  const { params } = await provider.interactionDetails(req, res)
  const grant = new provider.Grant({ accountId: USER, clientId: String(params.client_id) })
  grant.addOIDCScope('openid')
  const requested = params.resource === undefined ? [] : [params.resource].flat()
  for (const resource of requested as string[]) {
    const known = RESOURCE_SERVERS[resource]
    if (known !== undefined) grant.addResourceScope(resource, known.scope)
    else if (resource === audience) grant.addResourceScope(resource, CONSOLE_SCOPE)
  }
  const grantId = await grant.save()
  await provider.interactionFinished(req, res, {
    login: { accountId: USER },
    consent: { grantId },
  })
}
