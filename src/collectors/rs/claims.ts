/** What an event records about a token, taken from its JWT claims (verified or merely decoded). */
import type { JWTPayload } from 'jose'
import { LIMITS, type TokenInfo } from '../../events/schema.js'
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

export function factsFromClaims(claims: JWTPayload, fingerprint: string): TokenFacts {
  const oversized: string[] = []
  const rawAud = audOf(claims)
  const scopes = scopesOf(claims)
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
