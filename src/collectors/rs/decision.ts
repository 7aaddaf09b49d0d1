/** The decision and reason of a request the collector did not decide itself (observe mode, or the app). */
import type { JWTPayload } from 'jose'
import type { Decision, Reason } from '../../events/schema.js'
import type { TokenFacts } from './claims.js'

/** What the host application's response says about the token: 401 and 403 refuse it. */
export function decisionFromStatus(status: number | undefined): Decision {
  return status === 401 || status === 403 ? 'rejected' : 'accepted'
}

export interface ReasonContext {
  audiences: readonly string[]
  issuer: string
  clockToleranceSec: number
  now: number
}

/**
 * Best effort, for a token the application rejected (the caller reports `malformed` syntax
 * itself): the application's own `WWW-Authenticate` error first for scope, then what the
 * unverified claims show, in RFC 9068 section 4 order (aud, exp, iss); else `insufficient_scope`
 * for a 403 and `other` for a 401.
 */
export function rejectedReason(
  status: number | undefined,
  appError: string | undefined,
  facts: TokenFacts | undefined,
  claims: JWTPayload | undefined,
  ctx: ReasonContext,
): Reason {
  if (facts === undefined) return 'missing_token'
  if (appError === 'insufficient_scope') return 'insufficient_scope'
  // Not a JWT: the application may introspect opaque tokens; its reason is not visible here.
  if (claims === undefined) return 'other'
  if (!facts.rawAud.some((a) => ctx.audiences.includes(a))) return 'aud_mismatch'
  const exp = claims.exp
  if (typeof exp === 'number' && exp * 1000 <= ctx.now - ctx.clockToleranceSec * 1000)
    return 'expired'
  if (claims.iss !== ctx.issuer) return 'invalid_issuer'
  // RFC 6750 3.1: a resource server answers 403 to a valid token that lacks privileges.
  return status === 403 ? 'insufficient_scope' : 'other'
}
