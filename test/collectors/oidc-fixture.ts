/** A real node-oidc-provider (v9) on loopback with resource indicators, driven over HTTP by fetch. */
import { createHash, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair } from 'jose'
import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider'

export const MCP_A = 'https://mcp-a.example/mcp'
export const API_B = 'https://api-b.example'
export const OPAQUE_C = 'https://opaque-c.example/api'
export const CLIENT = {
  id: 'agent',
  secret: 'agent-secret-0123456789abcdef',
  redirect: 'https://client.example/cb',
}
export const ACCOUNT = 'user-1'
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'

const RESOURCE_SERVERS: Record<string, { scope: string; accessTokenFormat: 'jwt' | 'opaque' }> = {
  [MCP_A]: { scope: 'tools:read tools:call', accessTokenFormat: 'jwt' },
  [API_B]: { scope: 'read write', accessTokenFormat: 'jwt' },
  [OPAQUE_C]: { scope: 'read', accessTokenFormat: 'opaque' },
}

export interface OidcServer {
  provider: Provider
  issuer: string
  close(): Promise<void>
}

/**
 * The host application answers `/interaction/:uid` itself (devInteractions off): it logs in
 * `user-1` and grants every requested resource its resource server's scopes. A token-exchange
 * grant (RFC 8693) is registered the way oidc-provider documents custom grant types.
 */
export async function startProvider(): Promise<OidcServer> {
  // The issuer needs the port, so the server exists before the provider it serves.
  const late = {} as { provider: Provider }
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      finishInteraction(late.provider, req, res).catch((err) => {
        res.statusCode = 500
        res.end(String(err))
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
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials', TOKEN_EXCHANGE],
        redirect_uris: [CLIENT.redirect],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'k1' }] },
    cookies: { keys: ['cookie-key-for-tests'] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          const rs = RESOURCE_SERVERS[resource]
          if (rs === undefined) throw new errors.InvalidTarget()
          return { ...rs, audience: resource }
        },
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    issueRefreshToken: async () => true,
    findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  })
  late.provider = provider
  provider.registerGrantType(TOKEN_EXCHANGE, exchange(provider), [
    'subject_token',
    'subject_token_type',
    'resource',
    'scope',
  ])
  return {
    provider,
    issuer,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

async function finishInteraction(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { params } = await provider.interactionDetails(req, res)
  const grant = new provider.Grant({ accountId: ACCOUNT, clientId: String(params.client_id) })
  grant.addOIDCScope('openid')
  const requested = params.resource === undefined ? [] : [params.resource].flat()
  for (const resource of requested as string[])
    if (RESOURCE_SERVERS[resource])
      grant.addResourceScope(resource, RESOURCE_SERVERS[resource].scope)
  const grantId = await grant.save()
  await provider.interactionFinished(req, res, {
    login: { accountId: ACCOUNT },
    consent: { grantId },
  })
}

/** A minimal RFC 8693 grant: any subject token for this client buys a token for `resource`. */
function exchange(provider: Provider) {
  return async (ctx: KoaContextWithOIDC) => {
    const resource = String(ctx.oidc.params!.resource)
    const info = RESOURCE_SERVERS[resource]
    if (info === undefined) throw new errors.InvalidTarget()
    const token = new provider.ClientCredentials({ client: ctx.oidc.client!, scope: 'read' })
    token.resourceServer = new provider.ResourceServer(resource, { ...info, audience: resource })
    ctx.oidc.entity('ClientCredentials', token)
    ctx.body = {
      access_token: await token.save(),
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: token.expiration,
      scope: token.scope,
    }
  }
}

/** A fetch with a cookie jar, no redirects followed. */
export class Browser {
  readonly #cookies = new Map<string, string>()

  async get(url: string): Promise<Response> {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: this.#header() } })
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const at = pair!.indexOf('=')
      const name = pair!.slice(0, at)
      const value = pair!.slice(at + 1)
      if (value === '') this.#cookies.delete(name)
      else this.#cookies.set(name, value)
    }
    return res
  }

  #header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

/** POSTs a form to the token endpoint with client_secret_post. */
export async function tokenRequest(
  issuer: string,
  params: Record<string, string | string[]>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const form = new URLSearchParams({ client_id: CLIENT.id, client_secret: CLIENT.secret })
  for (const [k, v] of Object.entries(params)) for (const one of [v].flat()) form.append(k, one)
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: form,
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}
