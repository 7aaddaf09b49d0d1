/** Requests at the token endpoint as events: an issued or exchanged token, or a refused grant. */
import { decodeJwt } from 'jose'
import { authorizationRequested, tokenExchanged, tokenIssued, type RawValues } from '../as.js'
import { record, type Ctx } from './context.js'
import { answered, statusOf } from './outcome.js'
import { common } from './request.js'
import type { Built, CollectorState } from './state.js'

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'

/** The event of a token request: `token.issued`, `token.exchanged`, or a refused grant. */
export function onToken(c: CollectorState, ctx: Ctx, thrown: unknown): Built {
  const body = thrown === undefined ? record(ctx.body) : {}
  const accessToken = body.access_token
  const raw = record(ctx.oidc.body)
  if (ctx.status !== 200 || typeof accessToken !== 'string' || accessToken === '')
    return refusedToken(c, ctx, raw, thrown)
  const { oidc } = ctx
  const grantType = String(oidc.params?.grant_type)
  const entity = oidc.entities?.AccessToken ?? oidc.entities?.ClientCredentials
  const format = entity?.format ?? (accessToken.split('.').length === 3 ? 'jwt' : 'opaque')
  const now = Math.floor(Date.now() / 1000)
  const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : undefined
  const grantedScopes = typeof entity?.scope === 'string' ? entity.scope : body.scope
  // A JWT's claims are decoded from the token itself. An opaque token's come from its entity,
  // which has no iat: the response's expires_in gives the lifetime (to the second).
  // A sender-constrained token's binding (DPoP `jkt`, RFC 9449 6; mTLS `x5t#S256`, RFC 8705 3):
  // in a JWT's `cnf` claim, and on an opaque token's entity.
  const cnf = format === 'jwt' ? undefined : entityConfirmation(entity)
  const token =
    format === 'jwt'
      ? { format }
      : {
          format,
          iat: now,
          ...(expiresIn !== undefined && { exp: now + expiresIn }),
          aud: list(entity?.aud) ?? [],
          scopes: typeof grantedScopes === 'string' ? grantedScopes.split(' ').filter(Boolean) : [],
          ...(cnf !== undefined && { cnf }),
        }
  const jwtSub = format === 'jwt' ? decodeSub(accessToken) : undefined
  const base = {
    ...common(c, ctx, raw, thrown),
    subject:
      jwtSub ??
      entity?.accountId ??
      (entity?.kind === 'ClientCredentials' ? oidc.client?.clientId : undefined),
    sessionId: typeof entity?.sid === 'string' ? entity.sid : undefined,
    accessToken,
    fingerprintKey: c.fingerprintKey,
    token,
    requestedResources: raw.resource as RawValues,
  }
  if (grantType === TOKEN_EXCHANGE && typeof raw.subject_token === 'string') {
    const event = tokenExchanged({
      ...base,
      subjectToken: raw.subject_token,
      attributes: { grant_type: grantType },
    })
    return { event, counter: 'exchanges', rejected: false }
  }
  const source = oidc.entities?.AuthorizationCode ?? oidc.entities?.RefreshToken
  const grantId = typeof entity?.grantId === 'string' ? entity.grantId : undefined
  const event = tokenIssued({
    ...base,
    grantType,
    // Without a `scope` parameter the request asks for the grant's scopes (RFC 6749 section 6).
    requestedScopes: (raw.scope ?? source?.scope) as RawValues,
    grantedScopes: grantedScopes as RawValues,
    grantResources: source === undefined ? undefined : (list(source.resource) ?? []),
    previousAud:
      grantId === undefined || grantType !== 'refresh_token' ? undefined : c.grants.get(grantId),
    attributes: {
      requested_scopes_source:
        raw.scope === undefined && source !== undefined ? 'grant' : 'request',
      ...(grantId !== undefined && { grant_id: grantId }),
      ...(body.token_type !== undefined && { token_type: String(body.token_type) }),
    },
  })
  // As emitted (cleaned): tokenIssued compares the next audience the same way.
  if (grantId !== undefined) c.grants.set(grantId, event.granted_aud)
  return { event, counter: 'tokens', rejected: false }
}

/** A token request that got no access token: who asked for what, and the provider's answer. */
function refusedToken(c: CollectorState, ctx: Ctx, raw: Ctx, thrown: unknown): Built {
  const outcome = c.outcomes.get(ctx) ??
    answered(ctx, thrown, false) ?? { outcome: 'no_access_token' }
  const refusedNow = outcome.outcome === 'rejected'
  const event = authorizationRequested({
    ...common(c, ctx, raw, thrown),
    requestedResources: raw.resource as RawValues,
    requestedScopes: raw.scope as RawValues,
    attributes: {
      endpoint: 'token',
      ...outcome,
      status: thrown === undefined ? ctx.status : statusOf(thrown),
      ...(raw.grant_type !== undefined && { grant_type: raw.grant_type }),
      client_authenticated:
        ctx.oidc.client?.clientId !== undefined && outcome.error !== 'invalid_client',
    },
  })
  return { event, counter: 'failedGrants', rejected: refusedNow }
}

function decodeSub(jwt: string): string | undefined {
  try {
    const { sub } = decodeJwt(jwt)
    return typeof sub === 'string' ? sub : undefined
  } catch {
    return undefined
  }
}

function list(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string')
  return undefined
}

/** The `jkt` / `x5t#S256` oidc-provider keeps on a bound token's entity. */
function entityConfirmation(entity: unknown): Record<string, string> | undefined {
  const e = (entity ?? {}) as { jkt?: unknown; 'x5t#S256'?: unknown }
  const out: Record<string, string> = {}
  if (typeof e.jkt === 'string') out.jkt = e.jkt
  if (typeof e['x5t#S256'] === 'string') out['x5t#S256'] = e['x5t#S256']
  return Object.keys(out).length === 0 ? undefined : out
}
