/**
 * RFC 8693 delegation facts the AS knows at issuance and exchange, as event attributes: the
 * issued token's `may_act` (§4.4) and `act` nesting depth (§4.1), and what the subject token of an
 * exchange allowed (its `aud`, scopes and `may_act`). Decoded from JWTs (never verified here: the
 * AS issued or validated them), or given explicitly for opaque tokens. delegation-chain-violation
 * reads them.
 */
import { decodeJwt, type JWTPayload } from 'jose'
import { LIMITS } from '../../events/schema.js'
import type { Input } from './input.js'
import type { Sanitizer } from './sanitizer.js'

/** The `act` layers counted at most (a deeper nesting is recorded as this). */
const MAX_ACT_DEPTH = 32

/** What the caller may give for a subject token whose claims cannot be decoded (opaque). */
export interface SubjectTokenFacts {
  aud?: string | readonly string[]
  scopes?: string | readonly string[]
  mayAct?: { sub?: string; client_id?: string }
}

function claimsOf(raw: string | undefined): JWTPayload | undefined {
  if (raw === undefined || raw.split('.').length !== 3) return undefined
  try {
    return decodeJwt(raw)
  } catch {
    return undefined
  }
}

function mayActOf(s: Sanitizer, field: string, value: unknown): Input | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
  const v = value as Record<string, unknown>
  const out: Input = {}
  const sub = s.ident(`${field}.sub`, v.sub)
  const clientId = s.ident(`${field}.client_id`, v.client_id)
  if (sub !== undefined) out.sub = sub
  if (clientId !== undefined) out.client_id = clientId
  return Object.keys(out).length > 0 ? out : undefined
}

/** Layers of nested `act` claims: 0 when the token has none. */
export function actDepth(claims: JWTPayload | undefined): number {
  let depth = 0
  let act: unknown = claims?.act
  while (act !== null && typeof act === 'object' && !Array.isArray(act) && depth < MAX_ACT_DEPTH) {
    depth += 1
    act = (act as { act?: unknown }).act
  }
  return depth
}

/** The issued token's own delegation attributes: `may_act`, and `act_depth` when it has `act`. */
export function issuedDelegation(s: Sanitizer, accessToken: string | undefined): Input {
  const claims = claimsOf(accessToken)
  const own: Input = {}
  const mayAct = mayActOf(s, 'attributes.may_act', claims?.may_act)
  if (mayAct !== undefined) own.may_act = mayAct
  const depth = actDepth(claims)
  if (depth > 0) own.act_depth = depth
  return own
}

/** What the subject token of an exchange allowed: explicit facts over its decoded claims. */
export function subjectDelegation(
  s: Sanitizer,
  subjectToken: string | undefined,
  given: SubjectTokenFacts | undefined,
): Input {
  const claims = claimsOf(subjectToken)
  const own: Input = {}
  const aud = given?.aud ?? claims?.aud
  const list = s.listOf('attributes.subject_token_aud', aud)
  if (list !== undefined)
    own.subject_token_aud = s.list('attributes.subject_token_aud', list, { max: LIMITS.uri })
  const scopes = given?.scopes ?? claims?.scope ?? claims?.scp
  if (scopes !== undefined)
    own.subject_token_scopes = s.scopes('attributes.subject_token_scopes', scopes)
  const mayAct = mayActOf(s, 'attributes.subject_token_may_act', given?.mayAct ?? claims?.may_act)
  if (mayAct !== undefined) own.subject_token_may_act = mayAct
  return own
}
