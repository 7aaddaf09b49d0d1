/** Resource identifiers (RFC 8707 `resource`, JWT `aud`): canonical form, drift key, comparison. */
import { isIPv6 } from 'node:net'
import { domainToASCII } from 'node:url'

/**
 * Longest raw identifier accepted, in UTF-16 code units (`string.length`). Longer input is
 * marked invalid `too_long` without being parsed and is kept whole (never truncated), so the
 * audit record still shows exactly what was received; capping storage is the storage layer's job.
 */
export const MAX_RESOURCE_LENGTH = 2048

/**
 * Every warning a valid identifier can carry, in the order they are reported.
 *
 * Normalizations (the canonical form differs from the raw string because of them):
 * - `uppercase_scheme_or_host`: the scheme or the host had uppercase letters (RFC 3986 6.2.2.1).
 * - `default_port`: the port was the scheme's default (80 for http/ws, 443 for https/wss) and was
 *   removed (RFC 3986 6.2.3).
 * - `empty_port`: the authority ended with an empty port (`https://x:`), which was removed.
 * - `port_leading_zeros`: the port had leading zeros (`:08443`), removed.
 * - `empty_path_slash`: the path was a lone `/` after an authority, rendered empty (MCP form).
 * - `dot_segments`: `.` or `..` segments were removed (RFC 3986 5.2.4).
 * - `percent_encoding`: a percent-encoding had lowercase hex digits (uppercased) or encoded an
 *   unreserved character (decoded) (RFC 3986 6.2.2.2).
 * - `non_ascii`: the userinfo, path or query had non-ASCII characters, percent-encoded as UTF-8
 *   (the RFC 3987 3.1 IRI-to-URI mapping).
 * - `idn_host`: the host had non-ASCII characters, converted to A-labels (punycode, UTS 46).
 *
 * Informational (kept as is in the canonical form, but a frequent cause of `aud` mismatches or
 * not the form the MCP spec prefers):
 * - `trailing_slash`: a non-empty path ends with `/` (folded only in the drift key).
 * - `host_trailing_dot`: the host ends with `.` (an absolute DNS name; folded only in the drift key).
 * - `query_component`: a query component is present (even an empty one, `https://x?`).
 * - `userinfo`: the authority has a userinfo part (`user@host`).
 * - `non_https`: the scheme is cleartext `http` (or `ws`).
 * - `no_authority`: an absolute URI without `//authority` other than a `urn:`, e.g. `localhost:8080`
 *   or `mcp.example.com:8443`, which parse as a scheme `localhost` or `mcp.example.com`.
 */
export const RESOURCE_WARNINGS = [
  'uppercase_scheme_or_host',
  'default_port',
  'empty_port',
  'port_leading_zeros',
  'empty_path_slash',
  'dot_segments',
  'percent_encoding',
  'non_ascii',
  'idn_host',
  'trailing_slash',
  'host_trailing_dot',
  'query_component',
  'userinfo',
  'non_https',
  'no_authority',
] as const

export type ResourceWarning = (typeof RESOURCE_WARNINGS)[number]

/**
 * Every reason an identifier can be invalid (the first problem found is reported):
 * - `empty`: the empty string.
 * - `too_long`: longer than {@link MAX_RESOURCE_LENGTH}; not parsed at all.
 * - `whitespace_or_control`: any whitespace or separator (including leading or trailing), control
 *   or format character (Unicode Z, Cc and Cf: tabs, newlines, NBSP, zero-width and bidi marks).
 * - `fragment`: has a `#` fragment, even an empty one (RFC 8707 2: MUST NOT include a fragment).
 * - `unparseable`: not a URI reference at all, e.g. `::::` (a first segment with a `:` and no scheme).
 * - `relative`: a relative reference (no scheme), e.g. `mcp.example.com` or `/mcp`.
 * - `invalid_scheme`: the scheme is not `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
 * - `invalid_authority`: a malformed userinfo, host (unclosed `[`, bad IP literal, disallowed
 *   character, failed IDN conversion) or port (not digits, above 65535).
 * - `missing_host`: an `http`, `https`, `ws` or `wss` URI without an authority or with an empty
 *   host, e.g. `https:example.com` or `https:///mcp` (RFC 9110 4.2.1).
 * - `invalid_character`: an ASCII character RFC 3986 never allows (`"`, `<`, `>`, `\`, `^`, a
 *   backtick, `{`, `|`, `}`, and `[` or `]` outside an IP literal) or a lone UTF-16 surrogate.
 * - `invalid_percent_encoding`: a `%` not followed by two hex digits.
 */
export const RESOURCE_INVALID_REASONS = [
  'empty',
  'too_long',
  'whitespace_or_control',
  'fragment',
  'unparseable',
  'relative',
  'invalid_scheme',
  'invalid_authority',
  'missing_host',
  'invalid_character',
  'invalid_percent_encoding',
] as const

export type ResourceInvalidReason = (typeof RESOURCE_INVALID_REASONS)[number]

/**
 * A resource identifier as received plus its normalized forms.
 *
 * Canonical form (valid identifiers only): RFC 3986 syntax-based normalization (6.2.2: lowercase
 * scheme and host, uppercase percent-encoding hex, decoded unreserved characters, dot segments
 * removed in hierarchical paths) and scheme-based normalization (6.2.3: default or empty port
 * removed), with non-ASCII hosts converted to A-labels and other non-ASCII percent-encoded. After an
 * authority, a path that is empty or a lone `/` is rendered empty, also before a query:
 * `https://a.example/` and `https://a.example/?x=1` become `https://a.example` and
 * `https://a.example?x=1`. The query is kept (normalized the same way). Paths without an
 * authority that do not start with `/` (`urn:example:api`, `mailto:x@y`) are opaque: only the
 * scheme case and percent-encodings change. IPv6 literals are lowercased but not compressed.
 *
 * Drift key (valid identifiers only): the canonical form with `http` folded into `https` and
 * `ws` into `wss` (dropping a port that becomes the default, as in `http://x:443`), with the
 * host's trailing dot, the path's trailing slashes and an empty query (`?`) removed, and with the
 * path lowercased (percent-encodings keep uppercase hex). Identifiers with equal drift keys but
 * different canonical forms are not RFC 3986 equivalent; they are the
 * spellings that drift apart between clients, authorization servers and resource servers.
 *
 * Invalid identifiers: `canonical` and `driftKey` are the raw string and `warnings` is empty, so
 * they only ever compare `identical` to themselves, or `equivalent` through an alias.
 */
export interface CanonicalResource {
  raw: string
  canonical: string
  driftKey: string
  valid: boolean
  invalidReason?: ResourceInvalidReason
  warnings: ResourceWarning[]
}

/**
 * How two identifiers relate, strongest first: `identical` (same string, RFC 3986 6.2.1),
 * `equivalent` (same canonical form, or both resolve to the same registered resource through an
 * {@link AliasLookup}), `variant` (same drift key only) and `different`.
 */
export type ResourceComparison = 'identical' | 'equivalent' | 'variant' | 'different'

export interface AliasLookup {
  /** canonical form of the registered resource an identifier belongs to, or undefined */
  resolve(raw: string): string | undefined
}

const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*$/
// RFC 3986 Appendix B; every group is a negated class followed by a distinct delimiter, so
// matching is linear in the input length.
const URI_RE = /^(([^:/?#]+):)?(\/\/([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?$/s
const FORBIDDEN_RE = /[\p{Z}\p{Cc}\p{Cf}]/u
const LONE_SURROGATE_RE = /\p{Cs}/u
const IPV_FUTURE_RE = /^v[0-9a-f]+\.[a-z0-9\-._~!$&'()*+,;=:]+$/i
const REG_NAME_ASCII_RE = /^[a-z0-9\-._~!$&'()*+,;=]*$/
// Reg-name characters without `%`, plus anything non-ASCII (surrogate pairs included).
const IDN_INPUT_RE = /^[a-z0-9\-._~!$&'()*+,;=\u0080-\uffff]*$/i
const PERCENT_TRIPLET_RE = /%[0-9a-f]{2}/g

const DEFAULT_PORTS: Readonly<Record<string, string>> = {
  http: '80',
  https: '443',
  ws: '80',
  wss: '443',
}
const DRIFT_SCHEMES: Readonly<Record<string, string>> = { http: 'https', ws: 'wss' }
const HOST_REQUIRED = new Set(['http', 'https', 'ws', 'wss'])

const UNRESERVED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~'
const SUB_DELIMS = "!$&'()*+,;="

/** A 128-entry table of the ASCII characters a component allows literally. */
function asciiTable(chars: string): boolean[] {
  const table = new Array<boolean>(128).fill(false)
  for (const c of chars) table[c.charCodeAt(0)] = true
  return table
}

const IS_UNRESERVED = asciiTable(UNRESERVED)
const USERINFO_CHARS = asciiTable(UNRESERVED + SUB_DELIMS + ':')
const REG_NAME_CHARS = asciiTable(UNRESERVED + SUB_DELIMS)
const PATH_CHARS = asciiTable(UNRESERVED + SUB_DELIMS + ':@/')
const QUERY_CHARS = asciiTable(UNRESERVED + SUB_DELIMS + ':@/?')
const HEX = /^[0-9A-Fa-f]{2}$/

type ComponentResult =
  | { ok: true; value: string; percentChanged: boolean; nonAscii: boolean }
  | { ok: false; reason: ResourceInvalidReason; nonAscii?: boolean }

/**
 * Percent-encoding normalization of one component: uppercase hex, decode unreserved characters,
 * percent-encode non-ASCII as UTF-8 (unless `allowNonAscii` is false, then it is reported).
 */
function normalizeComponent(
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
function removeDotSegments(path: string): string {
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
function lowerKeepingPercent(path: string): string {
  return path.toLowerCase().replace(PERCENT_TRIPLET_RE, (t) => t.toUpperCase())
}

function render(
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

function invalid(raw: string, reason: ResourceInvalidReason): CanonicalResource {
  return { raw, canonical: raw, driftKey: raw, valid: false, invalidReason: reason, warnings: [] }
}

interface Authority {
  userinfo: string | undefined
  host: string
  port: string
}

function parseAuthority(
  authority: string,
  scheme: string,
  warn: Set<ResourceWarning>,
): Authority | ResourceInvalidReason {
  // Userinfo cannot contain `@`, so splitting at the last one and rejecting any `@` left in it
  // means `https://a@b@c` is invalid instead of guessing which part is the host.
  const at = authority.lastIndexOf('@')
  let userinfo: string | undefined
  if (at >= 0) {
    const u = normalizeComponent(authority.slice(0, at), USERINFO_CHARS, 'invalid_authority', true)
    if (!u.ok) return u.reason
    if (u.percentChanged) warn.add('percent_encoding')
    if (u.nonAscii) warn.add('non_ascii')
    userinfo = u.value
    warn.add('userinfo')
  }
  const hostPort = authority.slice(at + 1)

  let rawHost: string
  let rawPort: string | undefined
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']')
    if (close < 0) return 'invalid_authority'
    rawHost = hostPort.slice(0, close + 1)
    const rest = hostPort.slice(close + 1)
    if (rest !== '' && !rest.startsWith(':')) return 'invalid_authority'
    rawPort = rest === '' ? undefined : rest.slice(1)
  } else {
    const colon = hostPort.indexOf(':')
    rawHost = colon < 0 ? hostPort : hostPort.slice(0, colon)
    rawPort = colon < 0 ? undefined : hostPort.slice(colon + 1)
  }

  let host: string
  if (rawHost.startsWith('[')) {
    const literal = rawHost.slice(1, -1)
    // IPv6 zone identifiers (RFC 6874) are not accepted: isIPv6 alone would allow `%eth0`.
    const ok =
      literal.startsWith('v') || literal.startsWith('V')
        ? IPV_FUTURE_RE.test(literal)
        : !literal.includes('%') && isIPv6(literal)
    if (!ok) return 'invalid_authority'
    if (literal !== literal.toLowerCase()) warn.add('uppercase_scheme_or_host')
    host = rawHost.toLowerCase()
  } else {
    const h = normalizeComponent(rawHost, REG_NAME_CHARS, 'invalid_authority', false)
    if (!h.ok) {
      if (!h.nonAscii) return h.reason
      // domainToASCII would percent-decode and cut at `/`, so it only gets plain reg-name text.
      if (!IDN_INPUT_RE.test(rawHost)) return 'invalid_authority'
      const ascii = domainToASCII(rawHost)
      if (ascii === '' || !REG_NAME_ASCII_RE.test(ascii)) return 'invalid_authority'
      warn.add('idn_host')
      host = ascii
    } else {
      if (h.percentChanged) warn.add('percent_encoding')
      const lower = lowerKeepingPercent(h.value)
      if (lower !== h.value) warn.add('uppercase_scheme_or_host')
      host = lower
    }
    if (host.length > 1 && host.endsWith('.')) warn.add('host_trailing_dot')
  }
  if (host === '' && HOST_REQUIRED.has(scheme)) return 'missing_host'

  let port = ''
  if (rawPort !== undefined) {
    if (!/^[0-9]*$/.test(rawPort)) return 'invalid_authority'
    if (rawPort === '') {
      warn.add('empty_port')
    } else {
      const trimmed = rawPort.replace(/^0+(?=.)/, '')
      if (trimmed.length > 5 || Number(trimmed) > 65535) return 'invalid_authority'
      if (trimmed !== rawPort) warn.add('port_leading_zeros')
      if (DEFAULT_PORTS[scheme] === trimmed) warn.add('default_port')
      else port = trimmed
    }
  }
  return { userinfo, host, port }
}

function computeCanonical(raw: string): CanonicalResource {
  if (raw === '') return invalid(raw, 'empty')
  if (raw.length > MAX_RESOURCE_LENGTH) return invalid(raw, 'too_long')
  if (FORBIDDEN_RE.test(raw)) return invalid(raw, 'whitespace_or_control')
  if (LONE_SURROGATE_RE.test(raw)) return invalid(raw, 'invalid_character')

  const m = URI_RE.exec(raw)
  // Appendix B matches every string; the guard only satisfies the type checker.
  if (m === null) return invalid(raw, 'unparseable')
  const [, , rawScheme, authorityPart, rawAuthority, rawPath = '', queryPart, rawQuery, fragPart] =
    m
  if (fragPart !== undefined) return invalid(raw, 'fragment')
  if (rawScheme === undefined) {
    // Without a scheme, a first path segment with `:` is not a relative reference either
    // (RFC 3986 4.2, path-noscheme).
    const firstSegment = authorityPart === undefined ? rawPath.split('/', 1)[0] : ''
    return invalid(raw, firstSegment?.includes(':') ? 'unparseable' : 'relative')
  }
  if (!SCHEME_RE.test(rawScheme)) return invalid(raw, 'invalid_scheme')

  const warn = new Set<ResourceWarning>()
  const scheme = rawScheme.toLowerCase()
  if (scheme !== rawScheme) warn.add('uppercase_scheme_or_host')
  if (scheme === 'http' || scheme === 'ws') warn.add('non_https')

  let authority: Authority | undefined
  if (rawAuthority !== undefined) {
    const a = parseAuthority(rawAuthority, scheme, warn)
    if (typeof a === 'string') return invalid(raw, a)
    authority = a
  } else if (HOST_REQUIRED.has(scheme)) {
    return invalid(raw, 'missing_host')
  } else if (scheme !== 'urn') {
    warn.add('no_authority')
  }

  const p = normalizeComponent(rawPath, PATH_CHARS, 'invalid_character', true)
  if (!p.ok) return invalid(raw, p.reason)
  if (p.percentChanged) warn.add('percent_encoding')
  if (p.nonAscii) warn.add('non_ascii')
  let path = p.value
  const hierarchical = path.startsWith('/')
  if (hierarchical) {
    const removed = removeDotSegments(path)
    // Without the `/.` prefix, a path `//x` would re-parse as an authority (RFC 3986 5.3 leaves
    // it ambiguous); the prefix keeps the canonical form idempotent.
    const safe = authority === undefined && removed.startsWith('//') ? '/.' + removed : removed
    if (safe !== path) warn.add('dot_segments')
    path = safe
  }
  if (authority !== undefined && path === '/') {
    if (p.value === '/') warn.add('empty_path_slash')
    path = ''
  }
  if (hierarchical && path.length > 1 && path.endsWith('/')) warn.add('trailing_slash')

  let query: string | undefined
  if (queryPart !== undefined) {
    const q = normalizeComponent(rawQuery ?? '', QUERY_CHARS, 'invalid_character', true)
    if (!q.ok) return invalid(raw, q.reason)
    if (q.percentChanged) warn.add('percent_encoding')
    if (q.nonAscii) warn.add('non_ascii')
    query = q.value
    warn.add('query_component')
  }

  const canonical = render(scheme, authority, path, query)

  const driftScheme = DRIFT_SCHEMES[scheme] ?? scheme
  let driftAuthority = authority
  if (authority !== undefined) {
    const host =
      authority.host.length > 1 && authority.host.endsWith('.')
        ? authority.host.slice(0, -1)
        : authority.host
    // Folding `http://x:443` into `https` makes 443 the default port, so it goes too.
    const port = DEFAULT_PORTS[driftScheme] === authority.port ? '' : authority.port
    driftAuthority = { userinfo: authority.userinfo, host, port }
  }
  let driftPath = path
  if (hierarchical) driftPath = driftPath.replace(/\/+$/, '')
  driftPath = lowerKeepingPercent(driftPath)
  const driftKey = render(driftScheme, driftAuthority, driftPath, query === '' ? undefined : query)

  return {
    raw,
    canonical,
    driftKey,
    valid: true,
    warnings: RESOURCE_WARNINGS.filter((w) => warn.has(w)),
  }
}

const CACHE_MAX_ENTRIES = 10_000
const CACHE_MAX_CHARS = 4_000_000
const CACHE_MAX_KEY_LENGTH = 512
const cache = new Map<string, CanonicalResource>()
let cachedChars = 0

/**
 * Canonicalization memoized for the comparison hot path; results are shared and frozen. The memo
 * holds at most 10 000 entries and 4 million characters (raw, canonical and drift key together,
 * about 8 MB), skips raw strings over 512 characters, and is cleared whole when either bound is
 * reached: cheaper than LRU bookkeeping, and real working sets of identifiers are small.
 */
function canonicalCached(raw: string): CanonicalResource {
  const hit = cache.get(raw)
  if (hit !== undefined) return hit
  const result = computeCanonical(raw)
  Object.freeze(result.warnings)
  Object.freeze(result)
  if (raw.length <= CACHE_MAX_KEY_LENGTH) {
    const size = raw.length + result.canonical.length + result.driftKey.length
    if (cache.size >= CACHE_MAX_ENTRIES || cachedChars + size > CACHE_MAX_CHARS) {
      cache.clear()
      cachedChars = 0
    }
    cache.set(raw, result)
    cachedChars += size
  }
  return result
}

/**
 * Parses `raw` as an RFC 3986 absolute URI without fragment and returns its canonical form and
 * drift key (see {@link CanonicalResource}), or marks it invalid. Never throws. The WHATWG URL
 * parser is deliberately not used: it percent-encodes, rewrites `\` to `/`, accepts
 * `https:example.com` and strips tabs and newlines, all of which would hide what was sent.
 */
export function canonicalizeResource(raw: string): CanonicalResource {
  const c = canonicalCached(raw)
  return { ...c, warnings: [...c.warnings] }
}

/**
 * Classifies two identifiers (see {@link ResourceComparison}); symmetric. Aliases are consulted
 * only when the identifiers are neither identical nor canonically equal, and they win over a
 * drift-key match. Invalid identifiers are compared by exact string and alias only.
 */
export function compareResources(a: string, b: string, aliases?: AliasLookup): ResourceComparison {
  if (a === b) return 'identical'
  const ca = canonicalCached(a)
  const cb = canonicalCached(b)
  const bothValid = ca.valid && cb.valid
  if (bothValid && ca.canonical === cb.canonical) return 'equivalent'
  if (aliases !== undefined) {
    const ra = aliases.resolve(a)
    if (ra !== undefined && ra === aliases.resolve(b)) return 'equivalent'
  }
  if (bothValid && ca.driftKey === cb.driftKey) return 'variant'
  return 'different'
}

/**
 * Builds an {@link AliasLookup} from a resource registry. Each resource and each of its aliases
 * is indexed by its canonical form when it is a valid URI (so `API://my-api/` finds
 * `api://my-api`) and by its exact string otherwise (`my-api` does not match `My-Api`). Lookups
 * resolve to the resource's canonical form (its raw string if invalid). Aliases never extend to
 * drift keys: a variant of an alias is not an alias. A spelling (after canonicalization) claimed
 * by two different resources is ambiguous and resolves to nothing, so an inconsistent registry
 * fails closed instead of depending on entry order. Listing a resource twice merges its aliases.
 */
export function createAliasLookup(
  entries: ReadonlyArray<{ resource: string; aliases?: readonly string[] }>,
): AliasLookup {
  // Valid spellings are indexed by canonical form only, invalid ones by exact string only;
  // null marks a spelling claimed by two resources.
  const index = new Map<string, string | null>()
  for (const entry of entries) {
    const target = canonicalCached(entry.resource).canonical
    for (const spelling of [entry.resource, ...(entry.aliases ?? [])]) {
      const key = canonicalCached(spelling).canonical
      const existing = index.get(key)
      if (existing === undefined) index.set(key, target)
      else if (existing !== target) index.set(key, null)
    }
  }
  return {
    resolve(raw: string): string | undefined {
      return index.get(canonicalCached(raw).canonical) ?? undefined
    },
  }
}
