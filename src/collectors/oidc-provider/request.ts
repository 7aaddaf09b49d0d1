/** What a request says of the client: the client id it claimed, and the credentials it sent. */
import { decodeJwt } from 'jose'
import { readSafely, record, type Ctx } from './context.js'
import type { CollectorState } from './state.js'

/**
 * Request parameters that are credentials, by grant: cut from any field a client copies them
 * into, but only once the provider has accepted the grant (so they are real credentials, not
 * values a client chose to erase its own fields with: `assertion=<my client_id>` would otherwise
 * blank `client_id` wherever it appears). Raw JWTs are cut whatever the outcome (clean.ts).
 */
const GRANT_SECRETS: Readonly<Record<string, readonly string[]>> = {
  authorization_code: ['code'],
  refresh_token: ['refresh_token'],
  'urn:ietf:params:oauth:grant-type:token-exchange': ['subject_token', 'actor_token'],
  'urn:ietf:params:oauth:grant-type:device_code': ['device_code'],
  'urn:openid:params:grant-type:ciba': ['auth_req_id'],
}
/** Shorter values are never treated as secrets: no credential the provider issues is this short. */
const MIN_SECRET = 16
/** Credentials of a token response. */
const SECRET_RESPONSE = ['access_token', 'refresh_token', 'id_token']

/** What every event of a request has: the provider's facts, and the client's as it sent them. */
export function common(c: CollectorState, ctx: Ctx, raw: Ctx, thrown: unknown) {
  const { oidc } = ctx
  return {
    source: c.source,
    tenant: c.tenant,
    issuer: c.provider.issuer,
    clientId: (oidc.client?.clientId ?? claimedClientId(ctx, raw)) as string | undefined,
    network: {
      ip: ctx.ip as string | undefined,
      userAgent: ctx.get?.('user-agent') as string | undefined,
    },
    secrets: requestSecrets(ctx, raw, thrown === undefined ? record(ctx.body) : {}),
  }
}

/** The client id a client claimed without the provider resolving it: form, Basic or assertion. */
function claimedClientId(ctx: Ctx, raw: Ctx): unknown {
  if (raw.client_id !== undefined) return raw.client_id
  const basic = basicCredentials(ctx)
  if (basic !== undefined) return basic.id
  if (typeof raw.client_assertion === 'string') {
    try {
      const { sub, iss } = decodeJwt(raw.client_assertion)
      return sub ?? iss
    } catch {
      return undefined
    }
  }
  return undefined
}

function basicCredentials(ctx: Ctx): { id: string; secret: string } | undefined {
  const header = readSafely(() => ctx.get?.('authorization'))
  if (typeof header !== 'string' || !/^basic /i.test(header)) return undefined
  try {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
    const at = decoded.indexOf(':')
    if (at === -1) return undefined
    const form = (v: string) => decodeURIComponent(v.replace(/\+/g, '%20'))
    return { id: form(decoded.slice(0, at)), secret: form(decoded.slice(at + 1)) }
  } catch {
    return undefined
  }
}

/**
 * The credentials of a token request a client could copy into a field: the tokens just issued
 * and, when the provider accepted the grant, the grant's own credentials and the client secret it
 * authenticated with. Nothing of a refused request is taken for a secret: its values are only the
 * client's word, and cutting them from other fields would let a client erase what it probed
 * (`client_secret=//t.example.com/payroll` blanked that resource from the event). A raw JWT is
 * cut whatever the outcome (clean.ts); an opaque value a client copies into another field of a
 * refused request is recorded as sent.
 */
function requestSecrets(ctx: Ctx, raw: Ctx, body: Ctx): string[] {
  const out: string[] = []
  const add = (v: unknown) => {
    for (const one of [v].flat())
      if (typeof one === 'string' && one.length >= MIN_SECRET) out.push(one)
  }
  for (const name of SECRET_RESPONSE) add(body[name])
  const accepted = typeof body.access_token === 'string' && readSafely(() => ctx.status) === 200
  if (!accepted) return out
  const grantType = readSafely(() => ctx.oidc?.params?.grant_type ?? raw.grant_type)
  for (const name of (typeof grantType === 'string' && GRANT_SECRETS[grantType]) || [])
    add(raw[name])
  add(raw.client_secret)
  add(readSafely(() => basicCredentials(ctx)?.secret))
  return out
}
