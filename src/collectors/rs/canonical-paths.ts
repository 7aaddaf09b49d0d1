/**
 * Every spelling of a request target's path that a router may resolve, made canonical.
 *
 * - Every spelling a router may resolve is derived from the target: the absolute form reduced to
 *   its path (any scheme), query and fragment cut, backslashes as slashes, the path as received
 *   and after each round of percent-decoding (`%2F` included; up to four rounds, so double and
 *   triple encoding are covered), each with `;params` cut from its segments, empty segments
 *   (duplicate and trailing slashes) dropped and letters case-folded (per code point, so a prefix
 *   folds the same alone as inside a path). A target starting with `//` is also read as
 *   scheme-relative (`//host/path`), as WHATWG URL parsing does.
 * - Fail closed: a target that cannot be normalised is protected. That is: not origin-form
 *   (`/...`) or absolute-form (`scheme://authority...`), e.g. `*` or `host:port`; a path longer
 *   than the contract's LIMITS.path; a character outside printable ASCII; a malformed escape
 *   (`%zz`, a lone `%`) or invalid UTF-8; a decoded control character; still encoded after four
 *   rounds; and any dot segment (`.`, `..`, `%2e%2e`, `..;`) in any spelling. Routers disagree on
 *   dot segments (kept literally by Express and Fastify, where `/files/../x` reaches the
 *   `/files/*` route; resolved by WHATWG URL, before or after merging slashes), no conforming
 *   client sends them (RFC 3986 5.2.4), so no resolution is "the" router's path: such a request
 *   needs a token wherever it goes.
 *
 * Linear in the target's length (the path part is at most LIMITS.path characters): a handful of
 * passes, no backtracking regular expression.
 */
import { LIMITS } from '../../events/schema.js'

export type CanonicalPaths =
  | { ok: true; paths: readonly string[] }
  | {
      ok: false
      reason:
        | 'empty'
        | 'not_origin_or_absolute_form'
        | 'too_long'
        | 'not_printable_ascii'
        | 'malformed_escape'
        | 'control_character'
        | 'too_deeply_encoded'
        | 'dot_segment'
    }

type Failure = Extract<CanonicalPaths, { ok: false }>['reason']

/** How many rounds of percent-decoding are tried before a target counts as too deeply encoded. */
export const DECODE_ROUNDS = 4

const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//
const ESCAPE = /%[0-9A-Fa-f]{2}/
const UTF8 = new TextDecoder('utf-8', { fatal: true })

class Unnormalisable extends Error {
  constructor(readonly reason: Failure) {
    super(reason)
  }
}

/**
 * Every spelling of the target's path a router may resolve, canonical: decoded 0 to 4 times,
 * `;params` cut, no empty segment, case-folded, always starting with `/` (`/` for the root).
 */
export function canonicalPaths(
  target: string | undefined,
  options: { unicode?: boolean } = {},
): CanonicalPaths {
  try {
    return { ok: true, paths: spellings(target ?? '/', options.unicode === true) }
  } catch (err) {
    if (err instanceof Unnormalisable) return { ok: false, reason: err.reason }
    throw err
  }
}

/** `unicode`: a configured prefix may be written with non-ASCII letters (`/café`). */
function spellings(target: string, unicode: boolean): string[] {
  if (target.length === 0) throw new Unnormalisable('empty')
  let end = target.length
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i)
    if (c === 0x3f || c === 0x23) {
      end = i
      break
    }
  }
  let path = target.slice(0, end)
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i)
    if (c < 0x21 || c === 0x7f || (c > 0x7e && !unicode))
      throw new Unnormalisable('not_printable_ascii')
  }
  path = path.replaceAll('\\', '/')
  if (path.charCodeAt(0) !== 0x2f) {
    // Absolute form (RFC 9112 3.2.2), any scheme: Express reads `ws://h/x` and `foo://h/x` too.
    const scheme = ABSOLUTE.exec(path)
    if (scheme === null) throw new Unnormalisable('not_origin_or_absolute_form')
    const slash = path.indexOf('/', scheme[0].length)
    path = slash === -1 ? '/' : path.slice(slash)
  }
  if (path.length > LIMITS.path) throw new Unnormalisable('too_long')

  const decoded = [path]
  let current = path
  for (let round = 1; round <= DECODE_ROUNDS && current.includes('%'); round++) {
    const next = percentDecode(current, round === 1)
    if (next === current) break
    decoded.push(next)
    current = next
  }
  if (ESCAPE.test(current)) throw new Unnormalisable('too_deeply_encoded')

  const out = new Set<string>()
  for (const d of decoded) {
    const form = cutQuery(d.replaceAll('\\', '/'))
    out.add(normalise(form))
    // `//host/path` is scheme-relative to a WHATWG URL parser.
    if (form.startsWith('//')) {
      const slash = form.indexOf('/', 2)
      out.add(normalise(slash === -1 ? '/' : form.slice(slash)))
    }
  }
  return [...out]
}

/** A decoded `?` or `#` ends the path for a router that decodes before it splits. */
function cutQuery(path: string): string {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i)
    if (c === 0x3f || c === 0x23) return path.slice(0, i)
  }
  return path
}

/** Segments without `;params`, empty ones dropped, case-folded; a dot segment throws. */
function normalise(path: string): string {
  const segments: string[] = []
  for (const raw of path.split('/')) {
    const semicolon = raw.indexOf(';')
    const segment = semicolon === -1 ? raw : raw.slice(0, semicolon)
    if (segment === '.' || segment === '..') throw new Unnormalisable('dot_segment')
    if (segment !== '') segments.push(fold(segment))
  }
  return `/${segments.join('/')}`
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  return -1
}

/**
 * One round of percent-decoding, runs of escapes decoded as strict UTF-8. `strict` (the first
 * round, on the target as received): a `%` that starts no escape is malformed. Later rounds keep
 * such a `%` literally (it was an escaped `%25`).
 */
function percentDecode(s: string, strict: boolean): string {
  let out = ''
  let from = 0
  let i = s.indexOf('%')
  while (i !== -1) {
    let j = i
    const bytes: number[] = []
    while (j + 2 < s.length && s.charCodeAt(j) === 0x25) {
      const hi = hex(s.charCodeAt(j + 1))
      const lo = hex(s.charCodeAt(j + 2))
      if (hi < 0 || lo < 0) break
      bytes.push(hi * 16 + lo)
      j += 3
    }
    if (bytes.length === 0) {
      if (strict) throw new Unnormalisable('malformed_escape')
      i = s.indexOf('%', i + 1)
      continue
    }
    let text: string
    try {
      text = UTF8.decode(Uint8Array.from(bytes))
    } catch {
      throw new Unnormalisable('malformed_escape')
    }
    for (let k = 0; k < text.length; k++) {
      const c = text.charCodeAt(k)
      if (c < 0x20 || c === 0x7f) throw new Unnormalisable('control_character')
    }
    out += s.slice(from, i) + text
    from = j
    i = s.indexOf('%', j)
  }
  return out + s.slice(from)
}

// eslint-disable-next-line no-control-regex -- ASCII is the fast path of the fold
const ASCII = /^[\u0000-\u007f]*$/

/**
 * Case folding code point by code point, so it never depends on context (final sigma) and a
 * prefix folds the same alone as inside a path: upper then lower case, which maps `ς`, `σ`, `Σ`
 * alike. Folds more letters together than any router does, which only adds protection.
 */
export function fold(s: string): string {
  if (ASCII.test(s)) return s.toLowerCase()
  let out = ''
  for (const ch of s) out += ch.toUpperCase().toLowerCase()
  return out
}
