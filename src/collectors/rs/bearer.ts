/**
 * The access token of a request: from the `Authorization` header only (RFC 6750 2.1; never the
 * URI), with the `Bearer` scheme or the `DPoP` scheme (RFC 9449 7.1, same token68 syntax).
 */

export type Presented =
  | { kind: 'none' }
  /** `malformed`: not RFC 6750 b64token syntax, or longer than the limit (then never decoded) */
  | {
      kind: 'bearer'
      scheme: 'Bearer' | 'DPoP'
      token: string
      malformed: boolean
      oversized: boolean
    }

const NONE: Presented = { kind: 'none' }
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/**
 * A request without `Authorization`, with another scheme (Basic) or with a scheme and no
 * credentials presents no token. Header length is bounded by the HTTP server, so hashing an
 * oversized token for its fingerprint is bounded too; it is never parsed. `dpop` false: the
 * `DPoP` scheme counts as no token (the collector was told not to accept it).
 */
export function presentedToken(
  header: string | string[] | undefined,
  maxLength: number,
  dpop = true,
): Presented {
  const value = Array.isArray(header) ? header[0] : header
  if (value === undefined || value.length < 6) return NONE
  const lower = value.slice(0, 6).toLowerCase()
  let scheme: 'Bearer' | 'DPoP'
  let start: number
  if (lower === 'bearer' && (value[6] === ' ' || value[6] === '\t')) {
    scheme = 'Bearer'
    start = 7
  } else if (dpop && lower.startsWith('dpop') && (value[4] === ' ' || value[4] === '\t')) {
    scheme = 'DPoP'
    start = 5
  } else return NONE
  while (value[start] === ' ' || value[start] === '\t') start++
  let end = value.length
  while (end > start && (value[end - 1] === ' ' || value[end - 1] === '\t')) end--
  if (end === start) return NONE
  const token = value.slice(start, end)
  if (token.length > maxLength)
    return { kind: 'bearer', scheme, token, malformed: true, oversized: true }
  return { kind: 'bearer', scheme, token, malformed: !B64TOKEN.test(token), oversized: false }
}
