/**
 * Raw JWTs where only fingerprints belong. audtrail's collectors never send a token, but events
 * also come from other producers (an authorization server through the small API, HTTP ingest,
 * any Kafka client), and one that copies a bearer token into an event (an attribute, a `jti`, a
 * path with its query string) would have it stored.
 *
 * A compact JWS or JWE is found where its header starts, wherever that is in a string (after a
 * space, `%20`, `=`, an escape or other base64url characters): a base64url-encoded JSON object
 * (`eyJ` is `{"`; `eyA`, `ewo` and `ew0` are `{` then a space, line feed or carriage return)
 * whose decoded start is a key and a colon, then two or four more segments after dots. A string
 * with percent-escapes is also looked at with them decoded, as the canonical resource forms
 * decode them. Checking the decoded key keeps words that merely contain `eyJ` (`monkeyJar.v1.x`)
 * from being taken for a header. The scan reads the text a few times over at most, whatever it
 * holds (a regular expression for the same shape took 3.7 s on 60 KB of `eyJeyJ...`).
 *
 * Such a token is refused in every string and key of an event (parseEvent), and cut out of every
 * refused payload, and its Kafka key, before the payload is stored in `rejected_events` or sent
 * to the dead-letter topic. Opaque tokens have no shape to recognise: keeping them out stays the
 * producer's job.
 */

/** What a raw JWT is replaced with in a refused payload. */
export const RAW_JWT_REMOVED = '[raw JWT removed]'

/** The shortest header looked at: `{"alg":"none"}` alone encodes to 19 characters. */
const MIN_HEADER = 16
/** The shortest text that can hold a JWT: a header and two dots. */
const MIN_LENGTH = MIN_HEADER + 2
/**
 * Where a base64url-encoded JSON object starts (see the module comment). One object for every
 * search (set `lastIndex` first): a new one per string cost every valid event thirty.
 */
const CANDIDATE = /e(?:y[JA]|w[o0])/g

const isBase64url = (c: number) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95

function runEnd(s: string, i: number): number {
  while (i < s.length && isBase64url(s.charCodeAt(i))) i++
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

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09
const isKeyChar = (b: number) =>
  (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b === 95

/**
 * The base64url run at [start, end) decodes to the start of a JOSE header: `{`, spaces, a key of
 * letters, digits or `_` in quotes, spaces, `:`. Decoded a group at a time, and given up at the
 * first byte that does not fit, so that a run of near misses costs little.
 */
function isHeader(s: string, start: number, end: number): boolean {
  let state = 0
  let keyLength = 0
  const last = Math.min(end, start + 48)
  for (let i = start; i + 4 <= last; i += 4) {
    const group =
      (SIXTETS[s.charCodeAt(i)]! << 18) |
      (SIXTETS[s.charCodeAt(i + 1)]! << 12) |
      (SIXTETS[s.charCodeAt(i + 2)]! << 6) |
      SIXTETS[s.charCodeAt(i + 3)]!
    for (let shift = 16; shift >= 0; shift -= 8) {
      const b = (group >> shift) & 0xff
      if (state === 0) {
        if (b !== 0x7b) return false
        state = 1
      } else if (state === 1) {
        if (isSpace(b)) continue
        if (b !== 0x22) return false
        state = 2
      } else if (state === 2) {
        if (b === 0x22 && keyLength > 0) state = 3
        else if (!isKeyChar(b) || ++keyLength > 24) return false
      } else if (!isSpace(b)) return b === 0x3a
    }
  }
  return false
}

/** Where each raw JWT of `s` starts and ends, in order; only the first when `first`. */
function findRawJwts(s: string, first: boolean): [number, number][] {
  const found: [number, number][] = []
  if (s.length < MIN_LENGTH) return found
  CANDIDATE.lastIndex = 0
  // The segment of the last candidate looked at, and where a token starting in it would end:
  // every candidate in the same segment shares them.
  let segmentEnd = -1
  let tokenEnd = -1
  let dots = 0
  for (let m = CANDIDATE.exec(s); m !== null; m = CANDIDATE.exec(s)) {
    const at = m.index
    if (at >= segmentEnd) {
      segmentEnd = runEnd(s, at)
      tokenEnd = segmentEnd
      for (dots = 0; dots < 4; dots++) {
        const dot = dotAt(s, tokenEnd)
        if (dot === 0) break
        tokenEnd = runEnd(s, tokenEnd + dot)
      }
    }
    if (dots >= 2 && segmentEnd - at >= MIN_HEADER && isHeader(s, at, segmentEnd)) {
      found.push([at, tokenEnd])
      if (first) break
      CANDIDATE.lastIndex = tokenEnd
      segmentEnd = -1
    }
  }
  return found
}

/** `%XX` escapes decoded, one character each (enough to find an ASCII token). */
function percentDecoded(text: string): string {
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) =>
    String.fromCharCode(parseInt(hex, 16)),
  )
}

/** The text holds a raw JWT once its percent-escapes are decoded. */
const holdsOnceDecoded = (text: string) =>
  text.includes('%') && findRawJwts(percentDecoded(text), true).length > 0

/** The text holds a raw JWT, as it is or with its percent-escapes decoded. */
export function holdsRawJwt(text: string): boolean {
  return findRawJwts(text, true).length > 0 || holdsOnceDecoded(text)
}

/**
 * `text` with every raw JWT replaced by RAW_JWT_REMOVED; all of it replaced when a JWT shows only
 * once its percent-escapes are decoded (its place in `text` is not kept).
 */
export function withoutRawJwtText(text: string): string {
  const found = findRawJwts(text, false)
  if (found.length === 0) return holdsOnceDecoded(text) ? RAW_JWT_REMOVED : text
  let out = ''
  let from = 0
  for (const [start, end] of found) {
    out += text.slice(from, start) + RAW_JWT_REMOVED
    from = end
  }
  return out + text.slice(from)
}

/**
 * `bytes` with every raw JWT replaced by RAW_JWT_REMOVED; `bytes` itself when it holds none. A
 * JSON payload is looked at as parseEvent sees it, every string and key decoded (a token after
 * an escaped line feed, or with `\u002e` for its dots, is found), and written again when one is
 * found. Other bytes, UTF-8 or not, are scanned as they are: a JWT is ASCII, and every other
 * byte is kept as it was.
 */
export function withoutRawJwts(bytes: Buffer): Buffer {
  // latin1 maps each byte to one character and back, so the bytes around a match are unchanged.
  const text = bytes.toString('latin1')
  // Neither a header's start nor an escape that could spell one: nothing to look for.
  CANDIDATE.lastIndex = 0
  if (!CANDIDATE.test(text) && !text.includes('\\u') && !text.includes('%')) return bytes
  const json = parseJson(bytes)
  if (json.ok) {
    if (typeof json.value === 'string') {
      const cleaned = withoutRawJwtText(json.value)
      return cleaned === json.value ? bytes : Buffer.from(JSON.stringify(cleaned))
    }
    return cutFromValue(json.value) ? Buffer.from(JSON.stringify(json.value)) : bytes
  }
  const cleaned = withoutRawJwtText(text)
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
