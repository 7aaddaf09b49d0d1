/** The response enforce mode sends instead of the host's: 401 / 403 with a Bearer challenge, 500, 503. */
import type { Reason } from '../../events/schema.js'
import { bearerChallenge, DESCRIPTIONS } from './www-authenticate.js'

export interface Rejection {
  reason: Reason
  /** detail for `attributes.failure` */
  failure: string
  /** 503: the key set is unreachable; 500: the collector itself failed (fails closed) */
  status?: 401 | 403 | 500 | 503
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
  const description = DESCRIPTIONS[r.reason]
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
