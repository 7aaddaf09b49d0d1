/**
 * Raw JWTs where only fingerprints belong. audtrail's collectors never send a token, but events
 * also come from other producers (an authorization server through the small API, HTTP ingest,
 * any Kafka client), and one that copies a bearer token into an event (an attribute, a `jti`, a
 * path with its query string) would have it stored.
 *
 * What counts as a raw JWT: a compact JWS or JWE, recognised by its structure rather than its
 * spelling, as a JOSE library would read its header (jose's decodeProtectedHeader, which
 * node-oidc-provider uses too: base64url, a UTF-8 decoder that drops a byte order mark and
 * refuses bytes that are not UTF-8, then JSON.parse, which allows whitespace around the object).
 * - Its header is a run of base64url characters that decodes to: an optional byte order mark,
 *   any JSON whitespace (space, tab, line feed, carriage return), `{`, whitespace, a key (any
 *   characters but control ones, UTF-8, escapes such as `\u0061lg` or `\"`, any length),
 *   whitespace, `:`, whitespace, and the first byte of a value. Whatever the first member is
 *   (`alg`, `x5t#S256`, a 40-character key) and whatever `typ` or `cty` follow, it is a header.
 * - At least 16 characters long: a JWS or JWE header names its `alg`, and `{"alg":"none"}`
 *   alone is 19.
 * - Then two or four more segments of base64url characters, after dots (`.` or `%2E`), each
 *   segment perhaps followed by `=` padding (which jose tolerates); a segment may be empty.
 * Only the start of the header is decoded and checked, not the whole of it: that is what keeps
 * words that contain the spellings of a header start (`monkeyJar.v1.x`, `newline`, `consider`)
 * and ordinary base64 data from being taken for a token, and parsing every candidate to the
 * end of its header (kilobytes, with certificates) could cost the square of the length.
 *
 * The header may start anywhere in a string (after a space, `%20`, `=`, an escape or other
 * base64url characters). Candidates are the three spellings of `{` then whitespace or `"`, one
 * for each place of the `{` in a base64 group (`ey` or `ew` and one of twenty characters; `Hs`,
 * `Xs` or `ns` and five; `B7`, `l7`, `p7` or `17` and three); a header that starts with
 * whitespace or a byte order mark is followed back to its first group. A string is searched
 * for candidates only when some dot in it ends sixteen base64url characters or more, which
 * most strings (a URL, a user agent, a sentence) do not.
 *
 * Escapes: the same text is also looked at with its escapes decoded as URL decoders and JSON
 * parsers decode them (`%XX`, `\uXXXX`, `\/`, `\\` and the other JSON escapes), layer after
 * layer up to eight (`%252E`, `%5Cu002e` and `\u00252E` take two), while a layer decodes some
 * character that can change what is found (base64url, `.`, `=`, `%`, a backslash): a token
 * found in any of those views counts. A string is cut where its tokens are when each shows as it
 * is; one that shows only once decoded, or reaches further once decoded, has the whole string
 * replaced. A payload that is not JSON has what spells each token replaced where it is.
 *
 * Left out: whitespace inside a segment (which jose would skip) and standard base64 (`+`, `/`,
 * which jose refuses), neither of which an issuer writes; a token encoded as a whole (inside a
 * base64 Basic credential, as HTML entities); escapes nested more than eight deep; and opaque
 * tokens, which have no shape to recognise: keeping them out stays the producer's job.
 *
 * The scan reads the text a few times over at most, whatever it holds (a regular expression for
 * the same shape took 3.7 s on 60 KB of `eyJeyJ...`): the checks of two candidates of one
 * decoding overlap by a few bytes at most, as a key ends at the next unescaped quote, which a
 * later candidate's `{` is always followed by.
 *
 * Such a token is refused in every string and key of an event (parseEvent), and cut out of every
 * refused payload, and its Kafka key, before the payload is stored in `rejected_events` or sent
 * to the dead-letter topic, and out of every text a collector copies into an event (cleanText).
 */

/** What a raw JWT is replaced with in a refused payload. */
export const RAW_JWT_REMOVED = '[raw JWT removed]'

/** The shortest header looked at: `{"alg":"none"}` alone encodes to 19 characters. */
const MIN_HEADER = 16
/** The shortest text that can hold a JWT: a header and two dots. */
const MIN_LENGTH = MIN_HEADER + 2
/** How many layers of escapes are decoded (see the module comment). */
const MAX_LAYERS = 8
/**
 * A `{` followed by JSON whitespace or `"`, as the first, second or third byte of a base64 group
 * (see the module comment). A match hides no other candidate: the characters it spans start no
 * other, but for `B`, `l`, `n`, `p` or `1` as the third character of `ey`/`ew`, where a `{` would
 * follow bytes that are not whitespace. One object for every search (set `lastIndex` first): a
 * new one per string cost every valid event thirty.
 */
const CANDIDATE = /e(?:y[A-DI-L]|w[k-r0-3])|[HXn]s[giJKN]|[Blp1]7[CDI]/g

const isBase64url = (c: number) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95

function runEnd(s: string, i: number): number {
  while (i < s.length && isBase64url(s.charCodeAt(i))) i++
  return i
}

/** Past the `=` padding (at most two) at `i`. */
function paddingEnd(s: string, i: number): number {
  if (s.charCodeAt(i) === 61) i++
  if (s.charCodeAt(i) === 61) i++
  return i
}

/** The length of the dot at `i` (`.`, or `%2E` / `%2e`), 0 when there is none. */
function dotAt(s: string, i: number): number {
  const c = s.charCodeAt(i)
  if (c === 46) return 1
  if (c === 37 && s.charCodeAt(i + 1) === 50 && (s.charCodeAt(i + 2) | 0x20) === 101) return 3
  return 0
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const SIXTETS = new Uint8Array(128)
for (let i = 0; i < BASE64URL.length; i++) SIXTETS[BASE64URL.charCodeAt(i)] = i
const sixtet = (s: string, i: number) => SIXTETS[s.charCodeAt(i)]!

/** The three bytes of the group at `c` (two or three characters left: one or two bytes). */
function groupBits(s: string, c: number, chars: number): number {
  return (
    (sixtet(s, c) << 18) |
    (sixtet(s, c + 1) << 12) |
    (chars > 2 ? sixtet(s, c + 2) << 6 : 0) |
    (chars > 3 ? sixtet(s, c + 3) : 0)
  )
}

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09
const isHex = (b: number) => (b >= 48 && b <= 57) || ((b | 0x20) >= 97 && (b | 0x20) <= 102)
/** `"`, `\`, `/`, b, f, n, r, t: what may follow a backslash in a JSON string. */
const isEscape = (b: number) =>
  b === 0x22 ||
  b === 0x5c ||
  b === 0x2f ||
  b === 98 ||
  b === 102 ||
  b === 110 ||
  b === 114 ||
  b === 116
/** `"`, `{`, `[`, `-`, a digit, t, f, n: how a JSON value starts. */
const isValueStart = (b: number) =>
  b === 0x22 ||
  b === 0x7b ||
  b === 0x5b ||
  b === 0x2d ||
  (b >= 48 && b <= 57) ||
  b === 116 ||
  b === 102 ||
  b === 110

// Where the header check is: after the `{` (whitespace, then a quote), in the key, after a
// backslash in it, in the four hex digits of a `\u` escape, after the key (whitespace, a
// colon), after the colon (whitespace, the first byte of a value).
const OPEN = 0
const KEY = 1
const ESCAPE = 2
const HEX_DIGITS = 3 // to HEX_DIGITS + 3
const AFTER_KEY = 7
const AFTER_COLON = 8
/** In a UTF-8 sequence of the key, one to three continuation bytes to come. */
const CONTINUATION = 9 // to CONTINUATION + 2

/**
 * The base64url characters of `s` from `group` (the start of a group) to `end` decode to the
 * start of a JOSE header whose `{` is byte `brace` (0, 1 or 2) of that group (see the module
 * comment): the bytes before it whitespace, then whitespace, a key, a colon and a value's
 * first byte. Decoded a group at a time, and given up at the first byte that does not fit, so
 * that a near miss costs little.
 */
function opensHeader(s: string, group: number, brace: number, end: number): boolean {
  let state = OPEN
  for (let c = group; c + 1 < end; c += 4) {
    const chars = Math.min(end - c, 4)
    const bits = groupBits(s, c, chars)
    for (let k = 0; k < chars - 1; k++) {
      const b = (bits >> (16 - 8 * k)) & 0xff
      if (c === group && k <= brace) {
        // Whitespace, then the `{` the candidate matched.
        if (k < brace && !isSpace(b)) return false
        continue
      }
      switch (state) {
        case OPEN:
          if (b === 0x22) state = KEY
          else if (!isSpace(b)) return false
          break
        case KEY:
          if (b === 0x22) state = AFTER_KEY
          else if (b === 0x5c) state = ESCAPE
          else if (b < 0x20) return false
          else if (b >= 0x80) {
            // UTF-8, as jose decodes a header (a lead byte and its continuation bytes).
            if (b < 0xc2 || b > 0xf4) return false
            state = b < 0xe0 ? CONTINUATION : b < 0xf0 ? CONTINUATION + 1 : CONTINUATION + 2
          }
          break
        case ESCAPE:
          if (b === 0x75) state = HEX_DIGITS
          else if (isEscape(b)) state = KEY
          else return false
          break
        case AFTER_KEY:
          if (b === 0x3a) state = AFTER_COLON
          else if (!isSpace(b)) return false
          break
        case AFTER_COLON:
          if (isValueStart(b)) return true
          if (!isSpace(b)) return false
          break
        case CONTINUATION:
        case CONTINUATION + 1:
        case CONTINUATION + 2:
          if (b < 0x80 || b > 0xbf) return false
          state = state === CONTINUATION ? KEY : state - 1
          break
        default:
          // A hex digit of a `\u` escape.
          if (!isHex(b)) return false
          state = state === HEX_DIGITS + 3 ? KEY : state + 1
      }
    }
  }
  return false
}

/**
 * Where the header starts whose `{` is byte `brace` of the group at `group` (see opensHeader),
 * -1 when it is none: the group itself, or the first of the groups of whitespace before it, or
 * the byte order mark before those.
 */
function headerStart(s: string, group: number, brace: number, end: number): number {
  if (!opensHeader(s, group, brace, end)) return -1
  let start = group
  while (start >= 4) {
    const c = start - 4
    const base64url =
      isBase64url(s.charCodeAt(c)) &&
      isBase64url(s.charCodeAt(c + 1)) &&
      isBase64url(s.charCodeAt(c + 2)) &&
      isBase64url(s.charCodeAt(c + 3))
    if (!base64url) break
    const bits = groupBits(s, c, 4)
    if (isSpace(bits >> 16) && isSpace((bits >> 8) & 0xff) && isSpace(bits & 0xff)) start = c
    else {
      if (bits === 0xefbbbf) start = c
      break
    }
  }
  return start
}

/**
 * Some dot of `s` (`.` or `%2E`) ends a run of base64url characters as long as a header at least,
 * as every JWT's first dot does. Most strings have none (a URL, a user agent, a sentence): they
 * are not searched for candidates at all.
 */
function mayHoldJwt(s: string): boolean {
  for (let dot = s.indexOf('.'); dot >= 0; dot = s.indexOf('.', dot + 1))
    if (headerLongRunEndsAt(s, dot)) return true
  for (let p = s.indexOf('%'); p >= 0; p = s.indexOf('%', p + 1))
    if (dotAt(s, p) === 3 && headerLongRunEndsAt(s, p)) return true
  return false
}

/** MIN_HEADER base64url characters, and perhaps padding, end at `end`. */
function headerLongRunEndsAt(s: string, end: number): boolean {
  let i = end
  if (s.charCodeAt(i - 1) === 61) i--
  if (s.charCodeAt(i - 1) === 61) i--
  if (i < MIN_HEADER) return false
  for (let k = i - 1; k >= i - MIN_HEADER; k--) if (!isBase64url(s.charCodeAt(k))) return false
  return true
}

/**
 * `s` holds a raw JWT. With `found`, where each starts and ends is added to it, in order;
 * without, the search ends at the first.
 */
function findRawJwts(s: string, found?: [number, number][]): boolean {
  if (s.length < MIN_LENGTH || !mayHoldJwt(s)) return false
  let any = false
  CANDIDATE.lastIndex = 0
  // The segment of the last candidate looked at, and where a token starting in it would end:
  // every candidate in the same segment shares them.
  let segmentEnd = -1
  let tokenEnd = -1
  let dots = 0
  while (CANDIDATE.test(s)) {
    // Every match is three characters long (test, unlike exec, makes no match object).
    const at = CANDIDATE.lastIndex - 3
    if (at >= segmentEnd) {
      segmentEnd = runEnd(s, at)
      tokenEnd = paddingEnd(s, segmentEnd)
      for (dots = 0; dots < 4; dots++) {
        const dot = dotAt(s, tokenEnd)
        if (dot === 0) break
        tokenEnd = paddingEnd(s, runEnd(s, tokenEnd + dot))
      }
    }
    if (dots < 2) continue
    // The `{` is the first byte of a group at an `e`, the second at H, X or n, else the third.
    const c = s.charCodeAt(at)
    const brace = c === 101 ? 0 : c === 72 || c === 88 || c === 110 ? 1 : 2
    const group = at - brace
    if (group < 0 || (brace > 0 && !isBase64url(s.charCodeAt(at - 1)))) continue
    if (brace > 1 && !isBase64url(s.charCodeAt(at - 2))) continue
    const start = headerStart(s, group, brace, segmentEnd)
    if (start >= 0 && segmentEnd - start >= MIN_HEADER) {
      any = true
      if (found === undefined) break
      found.push([start, tokenEnd])
      CANDIDATE.lastIndex = tokenEnd
      segmentEnd = -1
    }
  }
  return any
}

const HEX = new Int8Array(128).fill(-1)
for (let i = 0; i < 16; i++)
  HEX['0123456789abcdef'.charCodeAt(i)] = HEX['0123456789ABCDEF'.charCodeAt(i)] = i

/** The byte spelled by the two hex digits at `i`, -1 when there are none. */
function hexByte(s: string, i: number): number {
  const hi = HEX[s.charCodeAt(i)] ?? -1
  const lo = HEX[s.charCodeAt(i + 1)] ?? -1
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo
}

/** What the escape at `i` (a `%` or a backslash) decodes to, and its length; length 0 when none. */
function escapeAt(s: string, i: number, out: { code: number; length: number }): void {
  out.length = 0
  if (s.charCodeAt(i) === 37) {
    const b = hexByte(s, i + 1)
    if (b >= 0) {
      out.code = b
      out.length = 3
    }
    return
  }
  const e = s.charCodeAt(i + 1)
  if (e === 0x75) {
    const hi = hexByte(s, i + 2)
    const lo = hexByte(s, i + 4)
    if (hi >= 0 && lo >= 0) {
      out.code = (hi << 8) | lo
      out.length = 6
    }
  } else if (isEscape(e)) {
    out.code = e === 98 ? 8 : e === 102 ? 12 : e === 110 ? 10 : e === 114 ? 13 : e === 116 ? 9 : e
    out.length = 2
  }
}

/**
 * A character that, decoded from an escape, can change what a scan finds: one a JWT is spelled
 * with (base64url, `.`, `=`), or one that starts an escape. Any other (`%2F`, `%20`, `\n`) only
 * separates, as its escape did.
 */
const tells = (c: number) => isBase64url(c) || c === 46 || c === 61 || c === 37 || c === 92

/** What escapeAt found last (one object for every call). */
const decoded = { code: 0, length: 0 }

/** `s` holds an escape that decodes to a character that tells (see `tells`). */
function holdsTellingEscape(s: string): boolean {
  for (let p = s.indexOf('%'); p >= 0; p = s.indexOf('%', p + 1)) {
    escapeAt(s, p, decoded)
    if (decoded.length > 0 && tells(decoded.code)) return true
  }
  for (let p = s.indexOf('\\'); p >= 0; p = s.indexOf('\\', p + 1)) {
    escapeAt(s, p, decoded)
    if (decoded.length > 0 && tells(decoded.code)) return true
    if (decoded.length > 0) p += decoded.length - 1
  }
  return false
}

/**
 * `s` with one layer of escapes decoded (see the module comment), one character each; with
 * `from`, where each of its characters starts in `s` (and `s.length` after the last).
 * Undefined when no escape in `s` decodes to a character that tells: looking at `s` so decoded
 * would find what looking at `s` does, and so would decoding it further.
 */
function decodeLayer(s: string, track: boolean): { text: string; from?: Int32Array } | undefined {
  if (!holdsTellingEscape(s)) return undefined
  // One byte a character: what is above U+00FF never spells a JWT nor an escape, U+00FF neither.
  const bytes = Buffer.allocUnsafe(s.length)
  const from = track ? new Int32Array(s.length + 1) : undefined
  let n = 0
  for (let i = 0; i < s.length; n++) {
    const c = s.charCodeAt(i)
    if (from) from[n] = i
    if (c === 37 || c === 92) escapeAt(s, i, decoded)
    else decoded.length = 0
    if (decoded.length > 0) {
      bytes[n] = decoded.code > 0xff ? 0xff : decoded.code
      i += decoded.length
    } else {
      bytes[n] = c > 0xff ? 0xff : c
      i++
    }
  }
  if (from) from[n] = s.length
  const text = bytes.toString('latin1', 0, n)
  return { text, from: from?.subarray(0, n + 1) }
}

/** The text may hold escapes that spell a JWT. */
const mayBeEscaped = (text: string) =>
  text.length >= MIN_LENGTH && (text.includes('%') || text.includes('\\'))

/** The text holds a raw JWT once a layer or more of its escapes are decoded. */
function holdsOnceDecoded(text: string): boolean {
  if (!mayBeEscaped(text)) return false
  let view = text
  for (let layer = 0; layer < MAX_LAYERS; layer++) {
    const next = decodeLayer(view, false)
    if (next === undefined) return false
    view = next.text
    if (findRawJwts(view)) return true
  }
  return false
}

/** The text holds a raw JWT, as it is or with its escapes decoded (see the module comment). */
export function holdsRawJwt(text: string): boolean {
  return findRawJwts(text) || holdsOnceDecoded(text)
}

/** `text` with the ranges of `cut` (in order, not overlapping) replaced by RAW_JWT_REMOVED. */
function cutOut(text: string, cut: [number, number][]): string {
  let out = ''
  let from = 0
  for (const [start, end] of cut) {
    out += text.slice(from, start) + RAW_JWT_REMOVED
    from = end
  }
  return out + text.slice(from)
}

/**
 * Where `text` spells a raw JWT once a layer or more of its escapes are decoded: the characters
 * of `text` that decode to it.
 */
function escapedRanges(text: string): [number, number][] {
  const ranges: [number, number][] = []
  if (!mayBeEscaped(text)) return ranges
  let view = text
  // Where each character of the view starts in `text`.
  let at: Int32Array | undefined
  for (let layer = 0; layer < MAX_LAYERS; layer++) {
    const next = decodeLayer(view, true)
    if (next === undefined) break
    const from = next.from!
    if (at !== undefined) for (let i = 0; i < from.length; i++) from[i] = at[from[i]!]!
    at = from
    view = next.text
    const found: [number, number][] = []
    findRawJwts(view, found)
    for (const [start, end] of found) ranges.push([at[start]!, at[end]!])
  }
  return ranges
}

/**
 * `text` with every raw JWT replaced by RAW_JWT_REMOVED where it is; all of it replaced when a
 * JWT shows only once escapes are decoded, or reaches further then (`%65` in its signature):
 * its place in `text` is not kept.
 */
export function withoutRawJwtText(text: string): string {
  const found: [number, number][] = []
  findRawJwts(text, found)
  const escaped = escapedRanges(text).sort((a, b) => a[0] - b[0])
  // Each within a token found as it is (both in order, the found ones apart).
  let k = 0
  for (const [start, end] of escaped) {
    while (k < found.length && found[k]![1] < end) k++
    if (k === found.length || found[k]![0] > start) return RAW_JWT_REMOVED
  }
  return found.length > 0 ? cutOut(text, found) : text
}

/**
 * `text` with every raw JWT replaced by RAW_JWT_REMOVED where it is, also one that shows only
 * once escapes are decoded: the characters that spell it once decoded are replaced. For a
 * payload that is not JSON, whose strings have no bounds to replace whole.
 */
function withoutRawJwtsInPlace(text: string): string {
  const ranges: [number, number][] = []
  findRawJwts(text, ranges)
  for (const range of escapedRanges(text)) ranges.push(range)
  if (ranges.length === 0) return text
  ranges.sort((a, b) => a[0] - b[0])
  const merged: [number, number][] = []
  for (const [start, end] of ranges) {
    const last = merged[merged.length - 1]
    if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], end)
    else merged.push([start, end])
  }
  return cutOut(text, merged)
}

/**
 * `bytes` with every raw JWT replaced by RAW_JWT_REMOVED; `bytes` itself when it holds none. A
 * JSON payload is looked at as parseEvent sees it, every string and key decoded (a token after
 * an escaped line feed, or with `\u002e` for its dots, is found), and written again when one is
 * found; a string that holds one only once escapes in it are decoded is replaced whole. Other
 * bytes, UTF-8 or not, are scanned as they are and with their escapes decoded: a JWT is ASCII,
 * what spells it (escapes included) is replaced where it is, and every other byte is kept as it
 * was.
 */
export function withoutRawJwts(bytes: Buffer): Buffer {
  // latin1 maps each byte to one character and back, so the bytes around a match are unchanged.
  const text = bytes.toString('latin1')
  // Neither a header's start nor an escape that could spell one: nothing to look for.
  CANDIDATE.lastIndex = 0
  if (!CANDIDATE.test(text) && !text.includes('\\') && !text.includes('%')) return bytes
  const json = parseJson(bytes)
  if (json.ok) {
    if (typeof json.value === 'string') {
      const cleaned = withoutRawJwtText(json.value)
      return cleaned === json.value ? bytes : Buffer.from(JSON.stringify(cleaned))
    }
    return cutFromValue(json.value) ? Buffer.from(JSON.stringify(json.value)) : bytes
  }
  const cleaned = withoutRawJwtsInPlace(text)
  return cleaned === text ? bytes : Buffer.from(cleaned, 'latin1')
}
const utf8 = new TextDecoder('utf-8', { fatal: true })

function parseJson(bytes: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(utf8.decode(bytes)) }
  } catch {
    return { ok: false }
  }
}

/** Sets an own property (never a setter, `__proto__` included). */
function define(node: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true })
}

/**
 * Cuts every raw JWT out of the strings and keys of a value JSON.parse made, in place; says
 * whether it found one. Walked without recursion: a refused payload may be nested thousands of
 * levels deep.
 */
function cutFromValue(value: unknown): boolean {
  let changed = false
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const node = stack.pop()
    if (node === null || typeof node !== 'object') continue
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const v: unknown = node[i]
        if (typeof v !== 'string') {
          stack.push(v)
          continue
        }
        const cleaned = withoutRawJwtText(v)
        if (cleaned !== v) {
          node[i] = cleaned
          changed = true
        }
      }
      continue
    }
    const object = node as Record<string, unknown>
    for (const key of Object.keys(object)) {
      const v = object[key]
      let at = key
      const cleanKey = withoutRawJwtText(key)
      if (cleanKey !== key) {
        delete object[key]
        // Two keys cut to the same text are both kept.
        at = cleanKey
        for (let n = 2; Object.hasOwn(object, at); n++) at = `${cleanKey} #${n}`
        define(object, at, v)
        changed = true
      }
      if (typeof v !== 'string') {
        stack.push(v)
        continue
      }
      const cleaned = withoutRawJwtText(v)
      if (cleaned !== v) {
        define(object, at, cleaned)
        changed = true
      }
    }
  }
  return changed
}
