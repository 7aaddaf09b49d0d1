/** Bounded, control-free values for events: what a hostile token or header may put in an audit record. */
import { cleanText } from '../../events/clean.js'
import { LIMITS, Network } from '../../events/schema.js'
import { textMemo } from './memo.js'

const IP = Network.shape.ip.unwrap()

/**
 * A non-empty string cut to `max` UTF-16 units (never ending in half a surrogate pair), cleaned
 * as every copied text is (clean.ts): raw JWTs cut out, lone surrogates and control characters
 * replaced by U+FFFD. What a client writes never makes the contract refuse its own request.
 */
export function clip(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return undefined
  return cleanText(value, max) || undefined
}

/**
 * An identifier (jti, client_id, sub) kept only when it fits: a truncated identifier could join
 * two different tokens, so an oversized one is dropped and its name pushed to `oversized`.
 */
export function ident(value: unknown, name: string, oversized: string[]): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return undefined
  if (value.length > LIMITS.id) {
    oversized.push(name)
    return undefined
  }
  return clip(value, LIMITS.id)
}

/** Up to `maxItems` clipped strings from a string or an array (non-strings skipped). */
export function stringList(value: unknown, maxItems: number, maxLength: number): string[] {
  const items = typeof value === 'string' ? [value] : Array.isArray(value) ? value : []
  const out: string[] = []
  for (const item of items) {
    if (out.length >= maxItems) break
    const s = clip(item, maxLength)
    if (s !== undefined) out.push(s)
  }
  return out
}

/** A JWT NumericDate as whole seconds within the contract's range, else undefined. */
export function numericDate(value: unknown): number | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined
  const n = Math.floor(value)
  return n >= 0 && n <= 253_402_300_799 ? n : undefined
}

/**
 * The contract's verdict on recently seen addresses (memo.ts): a server sees the same few clients
 * again and again, and the schema's check costs more than the rest of the request's network fields.
 */
const ipVerdict = textMemo((ip: string) => IP.safeParse(ip).success, {
  entries: 1024,
  chars: 64 * 1024,
  maxLength: 64,
})

/** A client address the contract accepts (IPv6 zone identifiers dropped), else undefined. */
export function ipAddress(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 64) return undefined
  const zone = value.indexOf('%')
  const ip = zone === -1 ? value : value.slice(0, zone)
  return ipVerdict(ip) ? ip : undefined
}

/**
 * Texts a server sees again and again (paths, user agents), cleaned once: kept only when the
 * screen left them unchanged (so no raw JWT or control character is kept as a key), up to 256
 * characters each, 1 024 of them, 128 Ki characters in all (memo.ts).
 */
const TEXT_MEMO = { entries: 1024, chars: 128 * 1024, maxLength: 256 } as const
const unchanged = (input: string, value: string | undefined) => value === input

const cleanPath = textMemo((path: string) => clip(path, LIMITS.path), TEXT_MEMO, unchanged)

/** The request path without its query string, bounded, never empty. */
export function requestPath(url: string | undefined): string {
  const raw = url ?? '/'
  const q = raw.indexOf('?')
  const path = q === -1 ? raw : raw.slice(0, q)
  return cleanPath(path) ?? '/'
}

const cleanUserAgent = textMemo((ua: string) => clip(ua, LIMITS.userAgent), TEXT_MEMO, unchanged)

/** `clip(value, LIMITS.userAgent)`, memoized for the user agents seen again. */
export function userAgent(value: unknown): string | undefined {
  return typeof value === 'string' ? cleanUserAgent(value) : undefined
}
