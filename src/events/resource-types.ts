/** Resource identifier types and the closed sets of warnings and invalid reasons. */
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
