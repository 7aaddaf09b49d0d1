/**
 * Raw JWTs behind escapes: the text decoded a layer at a time, each view scanned again.
 *
 * Escapes: the same text is also looked at with its escapes decoded as URL decoders and JSON
 * parsers decode them (`%XX`, `\uXXXX`, `\/`, `\\` and the other JSON escapes), layer after
 * layer up to eight (`%252E`, `%5Cu002e` and `\u00252E` take two), while a layer decodes some
 * character that can change what is found (base64url, `.`, `=`, `%`, a backslash): a token
 * found in any of those views counts.
 */
import { isBase64url, isEscape } from './chars.js'
import { findRawJwts, MIN_LENGTH } from './find.js'

/** How many layers of escapes are decoded (see the module comment). */
export const MAX_LAYERS = 8

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
export function decodeLayer(
  s: string,
  track: boolean,
): { text: string; from?: Int32Array } | undefined {
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
export const mayBeEscaped = (text: string) =>
  text.length >= MIN_LENGTH && (text.includes('%') || text.includes('\\'))

/** The text holds a raw JWT once a layer or more of its escapes are decoded. */
export function holdsOnceDecoded(text: string): boolean {
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
