/** RFC 3986 parsing of one identifier into its canonical form and drift key; private. */
import { isIPv6 } from 'node:net'
import { domainToASCII } from 'node:url'
import {
  DEFAULT_PORTS,
  DRIFT_SCHEMES,
  FORBIDDEN_RE,
  HOST_REQUIRED,
  IDN_INPUT_RE,
  IPV_FUTURE_RE,
  LONE_SURROGATE_RE,
  PATH_CHARS,
  QUERY_CHARS,
  REG_NAME_ASCII_RE,
  REG_NAME_CHARS,
  SCHEME_RE,
  URI_RE,
  USERINFO_CHARS,
  invalid,
  lowerKeepingPercent,
  normalizeComponent,
  removeDotSegments,
  render,
  type Authority,
} from './resource-components.js'
import {
  MAX_RESOURCE_LENGTH,
  RESOURCE_WARNINGS,
  type CanonicalResource,
  type ResourceInvalidReason,
  type ResourceWarning,
} from './resource-types.js'

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

export function computeCanonical(raw: string): CanonicalResource {
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
