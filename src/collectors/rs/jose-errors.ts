/** The one mapping from jose verification errors to the contract's `reason` (and a failure code). */
import type { Reason } from '../../events/schema.js'

export interface Failure {
  reason: Reason
  /** stable detail recorded in `attributes.failure`, e.g. `unknown_kid`, `typ`, `missing_claim:jti` */
  failure: string
  /** 401 for a bad token; 503 when the key set could not be obtained (not the client's fault) */
  status: 401 | 503
}

/** Thrown by the key-set wrapper when the JWKS cannot be fetched; never leaves the collector. */
export class KeySetUnavailable extends Error {
  override name = 'KeySetUnavailable'
}

const bad = (reason: Reason, failure: string): Failure => ({ reason, failure, status: 401 })

export function failureFromJose(err: unknown): Failure {
  if (err instanceof KeySetUnavailable)
    return { reason: 'other', failure: 'jwks_unavailable', status: 503 }
  const { code, claim, reason } = (err ?? {}) as {
    code?: unknown
    claim?: unknown
    reason?: unknown
  }
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return bad('expired', 'exp')
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (reason === 'missing') return bad('malformed', `missing_claim:${String(claim)}`)
      if (claim === 'iss') return bad('invalid_issuer', 'iss')
      if (claim === 'aud') return bad('aud_mismatch', 'aud')
      if (claim === 'typ') return bad('malformed', 'typ')
      if (claim === 'exp') return bad('malformed', 'exp_not_a_number')
      return bad('other', typeof claim === 'string' ? `claim:${claim}` : 'claim')
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return bad('invalid_signature', 'signature')
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return bad('invalid_signature', 'unknown_kid')
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return bad('invalid_signature', 'ambiguous_kid')
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return bad('invalid_signature', 'alg_not_allowed')
    case 'ERR_JOSE_NOT_SUPPORTED':
      return bad('malformed', 'not_supported')
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return bad('malformed', 'jws_invalid')
    case 'ERR_JWK_INVALID':
      return bad('invalid_signature', 'jwk_invalid')
    default:
      return bad('other', 'verification_failed')
  }
}
