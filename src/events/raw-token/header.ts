/**
 * The start of a JOSE header, decoded from base64url a group at a time.
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
 */
import { isBase64url, isEscape } from './chars.js'

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
export function headerStart(s: string, group: number, brace: number, end: number): number {
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
