/**
 * What the query routes share: the tenant a caller may see, the token-key and tenant parameters,
 * and keyset cursors.
 */
import { z } from 'zod'
import { TokenRef } from '../events/schema.js'
import type { Caller } from './auth.js'
import { ApiError } from './errors.js'

/** The caller's tenant; in open mode (loopback, no API keys) a `tenant` parameter, else default. */
export function tenantOf(caller: Caller, requested?: string): string {
  if (caller.tenant !== undefined) return caller.tenant
  return typeof requested === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(requested)
    ? requested
    : 'default'
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

/**
 * The (time, id) a cursor carries (the time as stored DateTime64 text), or undefined for the
 * start of the list; a forged cursor is a 400.
 */
export function decodeCursor(cursor: string | undefined, id: RegExp): [string, string] | undefined {
  if (!cursor) return undefined
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
