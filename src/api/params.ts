/**
 * What the query routes share: the tenant a caller may see, the token-key and tenant parameters,
 * and keyset cursors.
 */
import { z } from 'zod'
import { TokenRef } from '../events/schema.js'
import { Instant, instantMs } from '../reports/request.js'
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

/**
 * The parts of a cursor this API returned, each passing its check; anything else is a 400. The
 * last `optional` checks are of parts a cursor may leave out (all of them or none).
 */
function decodeParts(
  cursor: string,
  checks: ((part: string) => boolean)[],
  optional = 0,
): string[] {
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown
    if (
      Array.isArray(parts) &&
      (parts.length === checks.length || parts.length === checks.length - optional) &&
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

/**
 * `since` / `until` of the list endpoints: RFC 3339 with an offset or a plain date (midnight UTC),
 * as the CLI takes them (the same schema and reader: reports/request.ts).
 */
export const TimeParam = Instant.describe(
  'RFC 3339 date-time with an offset (2026-12-07T12:00:00Z) or a date (2026-12-07, midnight UTC)',
)

/** The ms of an optional time parameter. */
export const timeMs = (text: string | undefined): number | undefined =>
  text === undefined ? undefined : instantMs(text)

/**
 * A comma-separated list of values each matching `item` (a regular expression source without
 * anchors): `severity=critical,high`. Repeats collapse; at most `max` values.
 */
export function listParam(item: string, what: string, max = 32) {
  return z
    .string()
    .regex(
      new RegExp(`^(?:${item})(?:,(?:${item})){0,${max - 1}}$`),
      `a comma-separated list of ${what}`,
    )
    .transform((s) => [...new Set(s.split(','))])
}

/** The values of an enumeration as a pattern for listParam. */
export const oneOf = (values: readonly string[]) => values.join('|')

/**
 * A cursor on a finding's sort key: the sort it belongs to, the signed keys and the id, and the
 * list's `total` as its first page counted it (carried so that later pages need not count again).
 */
export function encodeSortCursor(
  sort: string,
  key: { k1: number; k2: number; id: string },
  total?: { value: number; exact: boolean },
) {
  const parts = [sort, String(key.k1), String(key.k2), key.id]
  if (total) parts.push(String(total.value), total.exact ? '1' : '0')
  return encodeParts(parts)
}

const INTEGER = /^-?\d{1,16}$/
const COUNT = /^\d{1,16}$/

/** What a finding cursor carries: the sort key of the last row, and the total if counted. */
export interface SortCursor {
  k1: number
  k2: number
  id: string
  total?: { value: number; exact: boolean }
}

/**
 * The sort key a cursor carries (and the total, when it carries one); a forged cursor, or one of
 * another sort (the order would not resume where the page ended), is a 400.
 */
export function decodeSortCursor(
  cursor: string | undefined,
  sort: string,
  id: RegExp,
): SortCursor | undefined {
  if (!cursor) return undefined
  const [of, k1, k2, key, value, exact] = decodeParts(
    cursor,
    [
      () => true,
      (p) => INTEGER.test(p),
      (p) => INTEGER.test(p),
      (p) => id.test(p),
      (p) => COUNT.test(p),
      (p) => p === '0' || p === '1',
    ],
    2,
  )
  if (of !== sort) throw new ApiError(400, 'ERR_BAD_REQUEST', 'cursor: from a list in another sort')
  const at = { k1: Number(k1), k2: Number(k2), id: key! }
  return value === undefined ? at : { ...at, total: { value: Number(value), exact: exact === '1' } }
}
