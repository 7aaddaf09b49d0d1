/** What the query routes share: the tenant a caller may see, and 400s from zod problems. */
import { z } from 'zod'
import type { Storage } from '../../storage/client.js'
import { toDateTime64 } from '../../storage/event-row.js'
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

export const TenantParam = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
  .optional()

const DATETIME64 = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/

/** Keyset cursors: the (time, id) of the last item, opaque to callers. */
export function encodeCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url')
}

/** Keyset cursors on one string key (a list in key order): the last key of the page. */
export function encodeKeyCursor(key: string): string {
  return Buffer.from(JSON.stringify([key])).toString('base64url')
}

/** The key a cursor carries, or '' (the start of the list); a forged cursor is a 400. */
export function decodeKeyCursor(cursor: string | undefined): string {
  if (!cursor) return ''
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown
    if (Array.isArray(parsed) && parsed.length === 1 && typeof parsed[0] === 'string')
      return parsed[0]
  } catch {
    // not JSON: answered below
  }
  throw new ApiError(400, 'ERR_BAD_REQUEST', 'cursor: not a cursor this API returned')
}

/** The (time, id) a cursor carries, or the start of the list; a forged cursor is a 400. */
export function decodeCursor(cursor: string | undefined, id: RegExp): [string, string] {
  if (!cursor) return [toDateTime64(FAR_FUTURE), '']
  try {
    const [at, key] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[]
    if (typeof at === 'string' && DATETIME64.test(at) && typeof key === 'string' && id.test(key))
      return [at, key]
  } catch {
    // not JSON: answered below
  }
  throw new ApiError(400, 'ERR_BAD_REQUEST', 'cursor: not a cursor this API returned')
}
