/** Bearer challenges (RFC 6750 section 3, RFC 9728 section 5.1) and the matching error bodies. */
import type { Reason } from '../../events/schema.js'

export type BearerError = 'invalid_token' | 'insufficient_scope'

export interface Challenge {
  error?: BearerError
  description?: string
  /** space-delimited scopes the resource needs */
  scope?: string
  resourceMetadata?: string
}

/** Fixed descriptions: never echo token content or library messages into a response header. */
export const DESCRIPTIONS: Readonly<Record<Reason, string>> = {
  ok: 'The access token is valid',
  aud_mismatch: 'The access token was not issued for this resource',
  expired: 'The access token expired',
  invalid_signature: 'The access token signature is invalid',
  invalid_issuer: 'The access token was not issued by a trusted authorization server',
  insufficient_scope: 'The access token lacks a scope this resource requires',
  malformed: 'The access token is not a valid JWT access token (RFC 9068)',
  missing_token: 'An access token is required',
  other: 'The access token is invalid',
}

// quoted-string (RFC 9110 5.6.4): escape backslash and double quote, drop what cannot appear.
function quoted(value: string): string {
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  return `"${value.replace(/[\u0000-\u001f\u007f-\uffff]/g, '').replace(/["\\]/g, '\\$&')}"`
}

/**
 * `Bearer error="...", error_description="...", scope="...", resource_metadata="..."`; without an
 * error code for a request that carried no token (RFC 6750 3.1).
 */
export function bearerChallenge(c: Challenge): string {
  const params: string[] = []
  if (c.error !== undefined) {
    params.push(`error=${quoted(c.error)}`)
    if (c.description !== undefined) params.push(`error_description=${quoted(c.description)}`)
  }
  if (c.scope !== undefined && c.scope !== '') params.push(`scope=${quoted(c.scope)}`)
  if (c.resourceMetadata !== undefined)
    params.push(`resource_metadata=${quoted(c.resourceMetadata)}`)
  return params.length === 0 ? 'Bearer' : `Bearer ${params.join(', ')}`
}

/** RFC 9449 7.1: the DPoP scheme's errors add `invalid_dpop_proof` to RFC 6750's. */
export type DpopError = BearerError | 'invalid_dpop_proof'

/** Fixed descriptions of proof-of-possession failures (never the proof's own content). */
export const PROOF_DESCRIPTIONS = {
  proof: 'The DPoP proof is invalid',
  binding: 'The access token is bound to a key this request did not prove possession of',
} as const

/**
 * `DPoP error="...", error_description="...", algs="ES256 ...", resource_metadata="..."`
 * (RFC 9449 7.1; `algs` lists the proof algorithms this resource accepts).
 */
export function dpopChallenge(c: Omit<Challenge, 'error'> & { error?: DpopError; algs: string }) {
  const params: string[] = []
  if (c.error !== undefined) {
    params.push(`error=${quoted(c.error)}`)
    if (c.description !== undefined) params.push(`error_description=${quoted(c.description)}`)
  }
  if (c.scope !== undefined && c.scope !== '') params.push(`scope=${quoted(c.scope)}`)
  params.push(`algs=${quoted(c.algs)}`)
  if (c.resourceMetadata !== undefined)
    params.push(`resource_metadata=${quoted(c.resourceMetadata)}`)
  return `DPoP ${params.join(', ')}`
}

/** The `error` of an application's own Bearer challenge, if it sent one (observe mode). */
export function challengeError(header: unknown): string | undefined {
  const value = Array.isArray(header) ? header.join(', ') : header
  if (typeof value !== 'string' || value.length > 4096) return undefined
  return /(?:^|[\s,])error\s*=\s*"?([A-Za-z_]+)"?/i.exec(value)?.[1]?.toLowerCase()
}
