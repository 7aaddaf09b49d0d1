/** A real node-oidc-provider (v9) with resource indicators, issuing JWT access tokens over loopback HTTP. */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair } from 'jose'
import Provider, { errors } from 'oidc-provider'

export const MCP_A = 'https://mcp-a.example/mcp'
export const API_B = 'https://api-b.example'

/** The two resource servers the AS knows; one signs with RS256 (RFC 9068's MTI), one with ES256. */
const RESOURCE_SERVERS: Record<string, { scope: string; alg: 'RS256' | 'ES256' }> = {
  [MCP_A]: { scope: 'tools:read tools:call', alg: 'RS256' },
  [API_B]: { scope: 'items:read items:write', alg: 'ES256' },
}

export interface AuthorizationServer {
  issuer: string
  jwksUri: string
  /** client_credentials over real HTTP, one resource indicator */
  token(resource: string, scope: string, clientId?: string): Promise<string>
  close(): Promise<void>
}

export async function startAuthorizationServer(): Promise<AuthorizationServer> {
  const rsa = await generateKeyPair('RS256', { extractable: true })
  const ec = await generateKeyPair('ES256', { extractable: true })
  const keys = [
    { ...(await exportJWK(rsa.privateKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    { ...(await exportJWK(ec.privateKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
  ]
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const client = (id: string) => ({
    client_id: id,
    client_secret: `${id}-secret`,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    scope: 'tools:read tools:call items:read items:write',
  })
  const provider = new Provider(issuer, {
    jwks: { keys },
    scopes: ['tools:read', 'tools:call', 'items:read', 'items:write'],
    clients: [client('agent-1'), client('agent-2')],
    ttl: { ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 300 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined as unknown as string,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          const rs = RESOURCE_SERVERS[resource]
          if (rs === undefined) throw new errors.InvalidTarget()
          return {
            scope: rs.scope,
            audience: resource,
            accessTokenTTL: 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: rs.alg } },
          }
        },
      },
    },
  })
  server.on('request', provider.callback())

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    async token(resource, scope, clientId = 'agent-1') {
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${clientId}:${clientId}-secret`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope }),
      })
      const body = (await res.json()) as { access_token?: string }
      if (!res.ok || body.access_token === undefined)
        throw new Error(`token request failed: ${res.status} ${JSON.stringify(body)}`)
      return body.access_token
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
