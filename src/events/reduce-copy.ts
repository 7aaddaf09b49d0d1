/** The first step of a reduction: a plain copy of the event, every string and key cleaned. */
import { cleanText } from './clean.js'
import { holdsRawJwt } from './raw-token.js'
import { spell, type Path } from './reduce-path.js'
import { LIMITS } from './schema.js'
import { FORBIDDEN_KEYS } from './parse.js'

const MAX_DEPTH = 16
/** Members of one object copied, at most. */
const MAX_KEYS = 256
/** Longer than any bound of the contract: cut further by the schema's own `too_big` issues. */
const MAX_TEXT = 16_384

/**
 * A plain copy of `value` with every string and key cleaned; members that cannot be read, are
 * too deep, or have a forbidden or token-bearing key are left out. Paths changed go to `reduced`.
 */
export function cleanCopy(value: unknown, path: Path, reduced: Set<string>): unknown {
  if (typeof value === 'string') {
    const cleaned = cleanText(value, MAX_TEXT)
    if (cleaned !== value) reduced.add(spell(path))
    return cleaned
  }
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
      reduced.add(spell(path))
      return undefined
    }
    return value
  }
  if (path.length >= MAX_DEPTH) {
    reduced.add(spell(path))
    return undefined
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString()
  if (Array.isArray(value)) {
    const out: unknown[] = []
    const n = Math.min(value.length, 1024)
    if (value.length > n) reduced.add(spell(path))
    for (let i = 0; i < n; i++) {
      let item: unknown
      try {
        item = value[i]
      } catch {
        reduced.add(spell([...path, i]))
        continue
      }
      const c = cleanCopy(item, [...path, out.length], reduced)
      if (c !== undefined) out.push(c)
    }
    return out
  }
  const out: Record<string, unknown> = {}
  let keys: string[]
  try {
    keys = Object.keys(value)
  } catch {
    reduced.add(spell(path))
    return undefined
  }
  // Members past the 256th are left out, and the object is listed as reduced.
  if (keys.length > MAX_KEYS) reduced.add(spell(path))
  for (const key of keys.slice(0, MAX_KEYS)) {
    if (FORBIDDEN_KEYS.has(key) || holdsRawJwt(key) || key.length > LIMITS.attributeKey) {
      // The key itself may be the token: never spelled out.
      reduced.add(spell([...path, '(a key)']))
      continue
    }
    let item: unknown
    try {
      item = (value as Record<string, unknown>)[key]
    } catch {
      reduced.add(spell([...path, key]))
      continue
    }
    const cleanKey = cleanText(key, LIMITS.attributeKey)
    if (cleanKey !== key || cleanKey === '') {
      reduced.add(spell([...path, '(a key)']))
      continue
    }
    const c = cleanCopy(item, [...path, key], reduced)
    if (c !== undefined) out[key] = c
  }
  return out
}
