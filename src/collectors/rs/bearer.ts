/** The bearer token of a request: from the `Authorization` header only (RFC 6750 2.1; never the URI). */

export type Presented =
  | { kind: 'none' }
  /** `malformed`: not RFC 6750 b64token syntax, or longer than the limit (then never decoded) */
  | { kind: 'bearer'; token: string; malformed: boolean; oversized: boolean }

const NONE: Presented = { kind: 'none' }
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/**
 * A request without `Authorization`, with another scheme (Basic, DPoP) or with `Bearer` and no
 * credentials presents no bearer token. Header length is bounded by the HTTP server, so hashing an
 * oversized token for its fingerprint is bounded too; it is never parsed.
 */
export function presentedToken(
  header: string | string[] | undefined,
  maxLength: number,
): Presented {
  const value = Array.isArray(header) ? header[0] : header
  if (value === undefined || value.length < 7) return NONE
  if (value.slice(0, 6).toLowerCase() !== 'bearer' || (value[6] !== ' ' && value[6] !== '\t'))
    return NONE
  let start = 7
  while (value[start] === ' ' || value[start] === '\t') start++
  let end = value.length
  while (end > start && (value[end - 1] === ' ' || value[end - 1] === '\t')) end--
  if (end === start) return NONE
  const token = value.slice(start, end)
  if (token.length > maxLength) return { kind: 'bearer', token, malformed: true, oversized: true }
  return { kind: 'bearer', token, malformed: !B64TOKEN.test(token), oversized: false }
}
