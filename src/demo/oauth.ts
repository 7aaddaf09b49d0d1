/**
 * The agent's OAuth 2.0 client side, over real HTTP to the demo AS: client credentials with or
 * without an RFC 8707 `resource`, and an authorization code flow with PKCE in which a cookie jar
 * plays the user's browser (the AS's login and consent step is automated).
 */
import { createHash, randomBytes } from 'node:crypto'
import { AGENT } from './scenario.js'

export interface IssuedToken {
  accessToken: string
  /** seconds since the epoch, from `expires_in` */
  expiresAt: number
}

async function tokenRequest(issuer: string, params: Record<string, string>): Promise<IssuedToken> {
  const form = new URLSearchParams({ client_id: AGENT.id, client_secret: AGENT.secret, ...params })
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  })
  const body = (await res.json()) as {
    access_token?: unknown
    expires_in?: unknown
    error?: unknown
  }
  if (!res.ok || typeof body.access_token !== 'string')
    throw new Error(`token request refused: HTTP ${res.status} ${String(body.error ?? '')}`)
  const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : 0
  return { accessToken: body.access_token, expiresAt: Math.floor(Date.now() / 1000) + expiresIn }
}

/** client_credentials; `resource` undefined sends no resource indicator at all. */
export function clientCredentials(
  issuer: string,
  scope: string,
  resource?: string,
): Promise<IssuedToken> {
  return tokenRequest(issuer, {
    grant_type: 'client_credentials',
    scope,
    ...(resource !== undefined && { resource }),
  })
}

/** A fetch with a cookie jar that follows no redirects. */
class Browser {
  readonly #cookies = new Map<string, string>()

  async get(url: string): Promise<Response> {
    const cookie = [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    const res = await fetch(url, { redirect: 'manual', headers: { cookie } })
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';')
      const at = pair.indexOf('=')
      const value = pair.slice(at + 1)
      if (value === '') this.#cookies.delete(pair.slice(0, at))
      else this.#cookies.set(pair.slice(0, at), value)
    }
    return res
  }
}

/** Authorization code + PKCE for `resource`, then the code exchanged for an access token. */
export async function authorizationCode(
  issuer: string,
  scope: string,
  resource: string,
): Promise<IssuedToken> {
  const verifier = randomBytes(32).toString('base64url')
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  const authorize = new URL(`${issuer}/auth`)
  for (const [k, v] of Object.entries({
    client_id: AGENT.id,
    response_type: 'code',
    redirect_uri: AGENT.redirect,
    scope,
    resource,
    state: randomBytes(8).toString('hex'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }))
    authorize.searchParams.set(k, v)
  const browser = new Browser()
  let location = authorize.href
  for (let hops = 0; !location.startsWith(AGENT.redirect); hops += 1) {
    const res = await browser.get(location)
    const next = res.headers.get('location')
    if (next === null || hops > 10)
      throw new Error(`authorization flow stopped: HTTP ${res.status}`)
    location = new URL(next, issuer).href
  }
  const code = new URL(location).searchParams.get('code')
  if (code === null) throw new Error('authorization flow ended without a code')
  return tokenRequest(issuer, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: AGENT.redirect,
    code_verifier: verifier,
    resource,
  })
}
