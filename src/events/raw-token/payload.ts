/** Raw JWTs in a refused payload: JSON walked string by string, other bytes scanned as they are. */
import { CANDIDATE } from './find.js'
import { withoutRawJwtsInPlace, withoutRawJwtText } from './text.js'

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
