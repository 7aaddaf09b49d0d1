/** What the query routes share: the tenant a caller may see, and 400s from zod problems. */
import { z } from 'zod'
import type { Storage } from '../../storage/client.js'
import { TokenRef } from '../../events/schema.js'
import { toDateTime64 } from '../../events/event-row.js'
import type { Authenticate, Caller } from '../auth.js'
import { ApiError, ErrorBody } from '../errors.js'
import { responseJsonSchema } from '../schemas/json-schema.js'

/** The caller's tenant; in open mode (loopback, no API keys) a `tenant` parameter, else default. */
export function tenantOf(caller: Caller, requested?: string): string {
  if (caller.tenant !== undefined) return caller.tenant
  return typeof requested === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(requested)
    ? requested
    : 'default'
}

export function badRequest(error: z.ZodError): ApiError {
  const problems = error.issues.map((i) => `${i.path.join('.') || '(query)'}: ${i.message}`)
  return new ApiError(400, 'ERR_BAD_REQUEST', problems.join('; '))
}

/** What every query route receives. */
export interface QueryDeps {
  storage: Storage
  authenticate: Authenticate
}

/** The end of every open time range. */
export const FAR_FUTURE = Date.parse('2999-01-01T00:00:00.000Z')

/** Responses: any JSON object on success, the error model otherwise (for routes without a schema). */
export const JSON_RESPONSE = {
  200: { type: 'object', additionalProperties: true },
  201: { type: 'object', additionalProperties: true },
  204: { type: 'null' },
  '4xx': ErrorBody,
  '5xx': ErrorBody,
} as const

/**
 * Fastify response schemas from the zod schemas of the success bodies (null: no body), plus the
 * error model. Objects are closed (additionalProperties false): the serializer writes exactly the
 * declared fields, so a field reaches callers only once the OpenAPI document declares it.
 */
export function responses(ok: Record<number, z.ZodType | null>): Record<string, unknown> {
  const out: Record<string, unknown> = { '4xx': ErrorBody, '5xx': ErrorBody }
  for (const [status, schema] of Object.entries(ok))
    out[status] = schema ? responseJsonSchema(schema, 'serializer') : { type: 'null' }
  return out
}

/**
 * A token key (a jti, or a fingerprint when the token has none) as the event contract accepts it:
 * every key an event may carry can be looked up, whatever characters it holds.
 */
export const TokenKeyParam = TokenRef.shape.jti.unwrap()

export const TenantParam = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
  .optional()

const DATETIME64 = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/

/** Keyset cursors: the sort key of the last item (its parts, as strings), opaque to callers. */
function encodeParts(parts: string[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url')
}

/** The parts of a cursor this API returned, each passing its check; anything else is a 400. */
function decodeParts(cursor: string, checks: ((part: string) => boolean)[]): string[] {
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown
    if (
      Array.isArray(parts) &&
      parts.length === checks.length &&
      parts.every((p, i) => typeof p === 'string' && checks[i]!(p))
    )
      return parts as string[]
  } catch {
    // not JSON: answered below
  }
  throw new ApiError(400, 'ERR_BAD_REQUEST', 'cursor: not a cursor this API returned')
}

/** A cursor on (time, id): lists newest first. */
export function encodeCursor(at: string, id: string): string {
  return encodeParts([at, id])
}

/** The (time, id) a cursor carries, or the start of the list; a forged cursor is a 400. */
export function decodeCursor(cursor: string | undefined, id: RegExp): [string, string] {
  if (!cursor) return [toDateTime64(FAR_FUTURE), '']
  const [at, key] = decodeParts(cursor, [(p) => DATETIME64.test(p), (p) => id.test(p)])
  return [at!, key!]
}

/** A cursor on one string key: lists in key order. */
export function encodeKeyCursor(key: string): string {
  return encodeParts([key])
}

/** The key a cursor carries, or '' (the start of the list); a forged cursor is a 400. */
export function decodeKeyCursor(cursor: string | undefined): string {
  return cursor ? decodeParts(cursor, [() => true])[0]! : ''
}
