/**
 * An HTTP ingest body (or a replayed file) cut into the bytes of each event, without decoding
 * it: each event then goes through decodePayload as a Kafka message does (one UTF-8 rule, one size
 * limit, one JSON parser), so an event that is not UTF-8, not JSON, too large or nested without
 * end is refused on its own and never costs its neighbours. Nothing here recurses: nesting is a
 * counter, whatever the depth.
 */

/** One event's bytes and its position in the body (array index, or 0-based NDJSON line). */
export interface BodyItem {
  index: number
  payload: Uint8Array
}

export interface SplitItems {
  /** The first `limit` events. */
  items: BodyItem[]
  /** How many events the body holds (more than `limit` when it holds too many). */
  count: number
}

const LF = 0x0a
const CR = 0x0d
const SPACE = 0x20
const TAB = 0x09
const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d

/** The bytes as a Buffer over the same memory (no copy). */
export const asBuffer = (bytes: Uint8Array) =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

const isSpace = (b: number | undefined) => b === SPACE || b === TAB || b === LF || b === CR

/** A UTF-8 byte order mark at the start (the decoder drops one too). */
const bomLength = (b: Uint8Array) => (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0)

/** A line of nothing but JSON whitespace (space, tab, carriage return): no event, skipped. */
export function isBlankLine(line: Uint8Array): boolean {
  for (let i = 0; i < line.length; i++) {
    const b = line[i]
    if (b !== SPACE && b !== TAB && b !== CR) return false
  }
  return true
}

/**
 * NDJSON: one event per line feed-terminated line, a carriage return before the line feed
 * dropped, blank lines skipped (and still counted in the line numbers).
 */
export function splitNdjson(body: Uint8Array, limit: number): SplitItems {
  const buf = asBuffer(body)
  const items: BodyItem[] = []
  let count = 0
  let line = 0
  for (let start = 0; start < buf.length; line++) {
    let end = buf.indexOf(LF, start)
    const next = end === -1 ? buf.length : end + 1
    if (end === -1) end = buf.length
    const content = buf.subarray(start, end > start && buf[end - 1] === CR ? end - 1 : end)
    start = next
    if (isBlankLine(content)) continue
    count += 1
    if (items.length < limit) items.push({ index: line, payload: content })
  }
  return { items, count }
}

export type SplitJson =
  | (SplitItems & {
      /** The body is one value, not an array: its only event is the body. */
      single: boolean
    })
  | { ok: false }

/**
 * A JSON body: an array is cut into its elements by its brackets, commas and string quotes only,
 * each element then parsed on its own; any other value is the one event. `{ ok: false }` when the
 * array itself does not hold together (unterminated, a missing or extra comma, text after it).
 */
export function splitJson(body: Uint8Array, limit: number): SplitJson {
  const buf = asBuffer(body)
  let i = skipSpace(buf, bomLength(buf))
  let end = buf.length
  while (end > i && isSpace(buf[end - 1])) end--
  if (i === end) return { ok: false }
  if (buf[i] !== OPEN_ARRAY)
    return { items: [{ index: 0, payload: buf.subarray(i, end) }], count: 1, single: true }
  const items: BodyItem[] = []
  let count = 0
  i = skipSpace(buf, i + 1)
  if (buf[i] === CLOSE_ARRAY) return i + 1 === end ? { items, count, single: false } : { ok: false }
  for (;;) {
    const valueEnd = scanValue(buf, i)
    if (valueEnd === -1) return { ok: false }
    if (items.length < limit) items.push({ index: count, payload: buf.subarray(i, valueEnd) })
    count += 1
    i = skipSpace(buf, valueEnd)
    if (buf[i] === COMMA) {
      i = skipSpace(buf, i + 1)
      continue
    }
    if (buf[i] === CLOSE_ARRAY && i + 1 === end) return { items, count, single: false }
    return { ok: false }
  }
}

function skipSpace(buf: Buffer, i: number): number {
  while (i < buf.length && isSpace(buf[i])) i++
  return i
}

/** Just past the closing quote of the string opening at `i`, or -1. */
function stringEnd(buf: Buffer, i: number): number {
  for (let from = i + 1; ;) {
    const quote = buf.indexOf(QUOTE, from)
    if (quote === -1) return -1
    let backslashes = 0
    while (buf[quote - 1 - backslashes] === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return quote + 1
    from = quote + 1
  }
}

/**
 * Just past the value starting at `i`, or -1 when there is none: a string to its closing quote,
 * an array or object to the bracket that closes it (brackets counted, strings skipped: whether
 * it is JSON is for the parser), anything else up to the next comma, bracket or whitespace.
 */
function scanValue(buf: Buffer, i: number): number {
  const first = buf[i]
  if (first === QUOTE) return stringEnd(buf, i)
  if (first === OPEN_ARRAY || first === OPEN_OBJECT) {
    let depth = 0
    for (let j = i; j < buf.length; j++) {
      const b = buf[j]
      if (b === QUOTE) {
        const after = stringEnd(buf, j)
        if (after === -1) return -1
        j = after - 1
      } else if (b === OPEN_ARRAY || b === OPEN_OBJECT) depth++
      else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) {
        depth--
        if (depth === 0) return j + 1
      }
    }
    return -1
  }
  let j = i
  while (j < buf.length) {
    const b = buf[j]
    if (
      isSpace(b) ||
      b === COMMA ||
      b === QUOTE ||
      b === OPEN_ARRAY ||
      b === CLOSE_ARRAY ||
      b === OPEN_OBJECT ||
      b === CLOSE_OBJECT
    )
      break
    j++
  }
  return j === i ? -1 : j
}
