/** What an event records about a token, taken from its JWT claims (verified or merely decoded). */
import type { JWTPayload } from 'jose'
import { LIMITS, type TokenInfo } from '../../events/schema.js'
import { weighStrings } from './cache.js'
import { confirmationOf } from './dpop.js'
import { clip, ident, numericDate, stringList } from './sanitize.js'

/** Event-ready facts about one presented token; every string already bounded and control-free. */
export interface TokenFacts {
  token: TokenInfo
  /** raw `aud` values as the token carries them (for comparison, never emitted unbounded) */
  rawAud: readonly string[]
  /** `iss` claim, bounded */
  issuer?: string
  clientId?: string
  subject?: string
  sessionId?: string
  scopes: readonly string[]
  /** claims dropped from the event because they exceeded the contract's size limits */
  oversized: readonly string[]
}

/** Scopes from `scope` (RFC 8693 4.2, space-delimited) or, failing that, `scp` (string or array). */
export function scopesOf(claims: JWTPayload): string[] {
  const { scope, scp } = claims as { scope?: unknown; scp?: unknown }
  const source = typeof scope === 'string' ? scope : scp
  if (typeof source === 'string') return source.split(' ').filter((s) => s !== '')
  return Array.isArray(source) ? source.filter((s): s is string => typeof s === 'string') : []
}

/** `aud` as a list of strings (RFC 7519 4.1.3: a string or an array of strings). */
export function audOf(claims: JWTPayload): string[] {
  const { aud } = claims
  if (typeof aud === 'string') return [aud]
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : []
}

/**
 * What is kept of a token's raw `aud` and scopes for comparisons: the first MAX_RAW_ITEMS values
 * no longer than MAX_RAW_LENGTH (longer ones can match no configured audience or scope), so the
 * facts of any token, however large, are bounded (and so the caches that keep them).
 */
const MAX_RAW_ITEMS = 256
const MAX_RAW_LENGTH = 4 * LIMITS.uri
const bounded = (values: string[]) =>
  values.filter((v) => v.length <= MAX_RAW_LENGTH).slice(0, MAX_RAW_ITEMS)

export function factsFromClaims(claims: JWTPayload, fingerprint: string): TokenFacts {
  const oversized: string[] = []
  const rawAud = bounded(audOf(claims))
  const scopes = bounded(scopesOf(claims))
  const token: TokenInfo = {
    fingerprint,
    format: 'jwt',
    aud: stringList(rawAud, LIMITS.listItems, LIMITS.uri),
    scopes: stringList(scopes, LIMITS.scopeItems, LIMITS.scope),
  }
  const jti = ident(claims.jti, 'jti', oversized)
  if (jti !== undefined) token.jti = jti
  const iat = numericDate(claims.iat)
  if (iat !== undefined) token.iat = iat
  const exp = numericDate(claims.exp)
  if (exp !== undefined) token.exp = exp
  // RFC 7800 `cnf` of a sender-constrained token (DPoP `jkt`, mTLS `x5t#S256`).
  const cnf = confirmationOf(claims)
  if (cnf !== undefined) token.cnf = cnf
  const c = claims as { client_id?: unknown; azp?: unknown; sid?: unknown }
  return {
    token,
    rawAud,
    issuer: clip(claims.iss, LIMITS.uri),
    clientId: ident(typeof c.client_id === 'string' ? c.client_id : c.azp, 'client_id', oversized),
    subject: ident(claims.sub, 'sub', oversized),
    sessionId: ident(c.sid, 'sid', oversized),
    scopes,
    oversized,
  }
}

/** Facts about a token that is not a decodable JWT; `inspected` false when it was too large to look at. */
export function opaqueFacts(fingerprint: string, inspected: boolean): TokenFacts {
  const token: TokenInfo = { fingerprint }
  if (inspected) token.format = 'opaque'
  return { token, rawAud: [], scopes: [], oversized: [] }
}

/**
 * An upper estimate of the heap a cached copy of these facts holds, with the claims kept beside
 * them (see `weighStrings`): every string an entry keeps is weighed.
 */
export function weighFacts(f: TokenFacts, claims?: JWTPayload): number {
  const t = f.token
  return weighStrings([
    typeof claims?.iss === 'string' ? claims.iss : undefined,
    ...f.rawAud,
    ...f.scopes,
    ...(t.aud ?? []),
    ...(t.scopes ?? []),
    ...f.oversized,
    t.fingerprint,
    t.jti,
    t.cnf?.jkt,
    t.cnf?.['x5t#S256'],
    f.issuer,
    f.clientId,
    f.subject,
    f.sessionId,
  ])
}
