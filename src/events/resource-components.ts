/** RFC 3986 character classes and component normalization for resource identifiers; private. */
import type { CanonicalResource, ResourceInvalidReason } from './resource-types.js'

export interface Authority {
  userinfo: string | undefined
  host: string
  port: string
}

export const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*$/
// RFC 3986 Appendix B; every group is a negated class followed by a distinct delimiter, so
// matching is linear in the input length.
export const URI_RE = /^(([^:/?#]+):)?(\/\/([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?$/s
export const FORBIDDEN_RE = /[\p{Z}\p{Cc}\p{Cf}]/u
export const LONE_SURROGATE_RE = /\p{Cs}/u
export const IPV_FUTURE_RE = /^v[0-9a-f]+\.[a-z0-9\-._~!$&'()*+,;=:]+$/i
export const REG_NAME_ASCII_RE = /^[a-z0-9\-._~!$&'()*+,;=]*$/
// Reg-name characters without `%`, plus anything non-ASCII (surrogate pairs included).
export const IDN_INPUT_RE = /^[a-z0-9\-._~!$&'()*+,;=\u0080-\uffff]*$/i
export const PERCENT_TRIPLET_RE = /%[0-9a-f]{2}/g

export const DEFAULT_PORTS: Readonly<Record<string, string>> = {
  http: '80',
  https: '443',
  ws: '80',
  wss: '443',
}
export const DRIFT_SCHEMES: Readonly<Record<string, string>> = { http: 'https', ws: 'wss' }
export const HOST_REQUIRED = new Set(['http', 'https', 'ws', 'wss'])

export const UNRESERVED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~'
export const SUB_DELIMS = "!$&'()*+,;="

/** A 128-entry table of the ASCII characters a component allows literally. */
export function asciiTable(chars: string): boolean[] {
  const table = new Array<boolean>(128).fill(false)
  for (const c of chars) table[c.charCodeAt(0)] = true
  return table
}

export const IS_UNRESERVED = asciiTable(UNRESERVED)
export const USERINFO_CHARS = asciiTable(UNRESERVED + SUB_DELIMS + ':')
export const REG_NAME_CHARS = asciiTable(UNRESERVED + SUB_DELIMS)
export const PATH_CHARS = asciiTable(UNRESERVED + SUB_DELIMS + ':@/')
export const QUERY_CHARS = asciiTable(UNRESERVED + SUB_DELIMS + ':@/?')
export const HEX = /^[0-9A-Fa-f]{2}$/

export type ComponentResult =
  | { ok: true; value: string; percentChanged: boolean; nonAscii: boolean }
  | { ok: false; reason: ResourceInvalidReason; nonAscii?: boolean }

/**
 * Percent-encoding normalization of one component: uppercase hex, decode unreserved characters,
 * percent-encode non-ASCII as UTF-8 (unless `allowNonAscii` is false, then it is reported).
 */
export function normalizeComponent(
  input: string,
  allowed: readonly boolean[],
  disallowedReason: ResourceInvalidReason,
  allowNonAscii: boolean,
): ComponentResult {
  let out = ''
  let percentChanged = false
  let nonAscii = false
  for (let i = 0; i < input.length; i++) {
    const code = input.charCodeAt(i)
    if (code === 0x25) {
      const hex = input.slice(i + 1, i + 3)
      if (!HEX.test(hex)) return { ok: false, reason: 'invalid_percent_encoding' }
      const byte = parseInt(hex, 16)
      if (byte < 128 && IS_UNRESERVED[byte]) {
        out += String.fromCharCode(byte)
        percentChanged = true
      } else {
        const upper = hex.toUpperCase()
        if (upper !== hex) percentChanged = true
        out += '%' + upper
      }
      i += 2
    } else if (code < 128) {
      if (!allowed[code]) return { ok: false, reason: disallowedReason }
      out += input[i]
    } else {
      nonAscii = true
      if (!allowNonAscii) return { ok: false, reason: disallowedReason, nonAscii: true }
      const cp = input.codePointAt(i) as number
      const char = String.fromCodePoint(cp)
      // encodeURIComponent emits UTF-8 with uppercase hex, exactly the RFC 3987 3.1 mapping.
      out += encodeURIComponent(char)
      i += char.length - 1
    }
  }
  return { ok: true, value: out, percentChanged, nonAscii }
}

/** RFC 3986 5.2.4 remove_dot_segments. */
export function removeDotSegments(path: string): string {
  const input = path.split('/')
  const output: string[] = []
  // A path ending in `.` or `..` keeps a trailing slash (`/a/b/..` -> `/a/`).
  const last = input[input.length - 1]
  const trailing = last === '.' || last === '..'
  for (let i = 0; i < input.length; i++) {
    const seg = input[i]
    if (seg === '.') continue
    if (seg === '..') {
      if (output.length > 1) output.pop()
      continue
    }
    output.push(seg)
  }
  if (trailing) output.push('')
  // output[0] is the empty segment before the leading `/`, so the result keeps that `/`.
  return output.join('/')
}

/** Lowercases a host or drift-key path while keeping percent-encodings' hex uppercase. */
export function lowerKeepingPercent(path: string): string {
  return path.toLowerCase().replace(PERCENT_TRIPLET_RE, (t) => t.toUpperCase())
}

export function render(
  scheme: string,
  authority: Authority | undefined,
  path: string,
  query: string | undefined,
): string {
  let out = scheme + ':'
  if (authority !== undefined) {
    out += '//'
    if (authority.userinfo !== undefined) out += authority.userinfo + '@'
    out += authority.host
    if (authority.port !== '') out += ':' + authority.port
  }
  out += path
  if (query !== undefined) out += '?' + query
  return out
}

export function invalid(raw: string, reason: ResourceInvalidReason): CanonicalResource {
  return { raw, canonical: raw, driftKey: raw, valid: false, invalidReason: reason, warnings: [] }
}
