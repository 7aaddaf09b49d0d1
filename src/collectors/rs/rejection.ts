/** The response enforce mode sends instead of the host's: 401 / 403 with a Bearer challenge, 500, 503. */
import type { Reason } from '../../events/schema.js'
import {
  bearerChallenge,
  DESCRIPTIONS,
  dpopChallenge,
  PROOF_DESCRIPTIONS,
} from './www-authenticate.js'

export interface Rejection {
  reason: Reason
  /** detail for `attributes.failure` */
  failure: string
  /** 503: the key set is unreachable; 500: the collector itself failed (fails closed) */
  status?: 401 | 403 | 500 | 503
  /**
   * answer with a DPoP challenge (RFC 9449 7.1): the request used the DPoP scheme or presented a
   * DPoP-bound token; `proof` names a proof failure (`invalid_dpop_proof`), `binding` a token
   * bound to a key the request did not prove
   */
  dpop?: { algs: string; problem?: 'proof' | 'binding' }
  /** an mTLS-bound token without its certificate (RFC 8705 3): `invalid_token` */
  binding?: boolean
}

export interface Reply {
  kind: 'reply'
  status: number
  headers: Record<string, string>
  body: string
}

const JSON_TYPE = 'application/json; charset=utf-8'

/**
 * RFC 6750 3 and RFC 9728 5.1: `invalid_token` (401) or `insufficient_scope` (403) with the
 * required `scope` and `resource_metadata`; a request without a token gets no error code (3.1).
 */
export function rejectionReply(r: Rejection, resourceMetadata: string, scope: string): Reply {
  if (r.status === 500 || r.status === 503)
    return {
      kind: 'reply',
      status: r.status,
      headers:
        r.status === 503
          ? { 'content-type': JSON_TYPE, 'retry-after': '5' }
          : { 'content-type': JSON_TYPE },
      body: JSON.stringify({
        error: r.status === 503 ? 'temporarily_unavailable' : 'server_error',
      }),
    }
  if (r.dpop !== undefined) return dpopReply(r, r.dpop, resourceMetadata, scope)
  const description = r.binding ? PROOF_DESCRIPTIONS.binding : DESCRIPTIONS[r.reason]
  if (r.reason === 'missing_token')
    return {
      kind: 'reply',
      status: 401,
      headers: {
        'content-type': JSON_TYPE,
        'www-authenticate': bearerChallenge({ scope, resourceMetadata }),
      },
      body: JSON.stringify({ error_description: description }),
    }
  const insufficient = r.reason === 'insufficient_scope'
  const error = insufficient ? 'insufficient_scope' : 'invalid_token'
  return {
    kind: 'reply',
    status: insufficient ? 403 : 401,
    headers: {
      'content-type': JSON_TYPE,
      'www-authenticate': bearerChallenge({
        error,
        description,
        scope: insufficient ? scope : undefined,
        resourceMetadata,
      }),
    },
    body: JSON.stringify({ error, error_description: description }),
  }
}

function dpopReply(
  r: Rejection,
  d: NonNullable<Rejection['dpop']>,
  resourceMetadata: string,
  scope: string,
): Reply {
  const insufficient = r.reason === 'insufficient_scope' && d.problem === undefined
  const error =
    d.problem === 'proof'
      ? 'invalid_dpop_proof'
      : insufficient
        ? 'insufficient_scope'
        : 'invalid_token'
  const description =
    d.problem === undefined ? DESCRIPTIONS[r.reason] : PROOF_DESCRIPTIONS[d.problem]
  return {
    kind: 'reply',
    status: insufficient ? 403 : 401,
    headers: {
      'content-type': JSON_TYPE,
      'www-authenticate': dpopChallenge({
        error,
        description,
        scope: insufficient ? scope : undefined,
        algs: d.algs,
        resourceMetadata,
      }),
    },
    body: JSON.stringify({ error, error_description: description }),
  }
}
