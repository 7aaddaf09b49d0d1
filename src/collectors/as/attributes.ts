/** The event's attributes: the sanitizer's marks, the builder's own, and those given, cleaned. */
import { cleanText } from '../../events/clean.js'
import { LIMITS } from '../../events/schema.js'
import { dropUndefined, type Input } from './input.js'
import type { Sanitizer } from './sanitizer.js'
import { FORBIDDEN_KEYS } from '../../events/parse.js'

/** Longest attribute string kept whole, deepest attribute value, most items of an attribute list. */
const ATTRIBUTE_TEXT = LIMITS.uri
const ATTRIBUTE_DEPTH = 8
const ATTRIBUTE_ITEMS = 64

/**
 * The event's attributes: the marks first (a reduction that must drop some drops the last
 * ones), then the builder's own, then those given (cleaned), which win over the builder's own
 * but never over the marks.
 */
export function eventAttributes(s: Sanitizer, own: Input, given: unknown): Input | undefined {
  const cleaned = attributeValue(s, given, 0, 'attributes', new WeakSet())
  const out: Input = { sanitized: undefined, oversized_ids: undefined, ...s.counts, ...own }
  if (cleaned !== null && typeof cleaned === 'object' && !Array.isArray(cleaned))
    Object.assign(out, cleaned)
  else if (cleaned !== undefined) s.mark('attributes')
  Object.assign(out, s.counts)
  out.oversized_ids = s.oversized.length > 0 ? [...new Set(s.oversized)] : undefined
  out.sanitized = s.changed.size > 0 ? [...s.changed].sort() : undefined
  const result = dropUndefined(out)
  return Object.keys(result).length > 0 ? result : undefined
}

/** A JSON value with every string and key cleaned; what JSON cannot hold is left out and marked. */
function attributeValue(
  s: Sanitizer,
  value: unknown,
  depth: number,
  field: string,
  seen: WeakSet<object>,
) {
  if (typeof value === 'string') return s.text(field, value, { max: ATTRIBUTE_TEXT, empty: 'keep' })
  if (typeof value === 'number') return Number.isFinite(value) ? value : s.drop(field, value)
  if (typeof value === 'boolean' || value === null) return value
  if (value === undefined) return undefined
  if (typeof value === 'bigint') return String(value)
  if (typeof value !== 'object' || depth >= ATTRIBUTE_DEPTH || seen.has(value))
    return s.drop(field, true)
  seen.add(value)
  try {
    if (value instanceof Date)
      return Number.isNaN(value.getTime()) ? s.drop(field, true) : value.toISOString()
    return Array.isArray(value)
      ? attributeList(s, value, depth, field, seen)
      : attributeObject(s, value, depth, field, seen)
  } catch {
    // a revoked Proxy, a throwing trap
    return s.drop(field, true)
  } finally {
    seen.delete(value)
  }
}

function attributeList(
  s: Sanitizer,
  value: unknown[],
  depth: number,
  field: string,
  seen: WeakSet<object>,
) {
  const items: unknown[] = []
  const n = value.length
  if (n > ATTRIBUTE_ITEMS) s.mark(field)
  for (let k = 0; k < Math.min(n, ATTRIBUTE_ITEMS); k++) {
    const v = attributeValue(s, s.read(value, String(k), field), depth + 1, field, seen)
    items.push(v === undefined ? null : v)
  }
  return items
}

function attributeObject(
  s: Sanitizer,
  value: object,
  depth: number,
  field: string,
  seen: WeakSet<object>,
) {
  const out: Input = {}
  const keys = Object.keys(value)
  for (const key of keys.slice(0, LIMITS.attributes)) {
    let k = cleanText(s.withoutSecrets(key), LIMITS.attributeKey)
    if (FORBIDDEN_KEYS.has(k)) k = `_${k}`
    if (k === '') k = '(empty)'
    const path = depth === 0 ? `attributes.${k}` : field
    if (k !== key) s.mark(path)
    const v = attributeValue(s, s.read(value, key, path), depth + 1, path, seen)
    if (v !== undefined) out[k] = v
  }
  if (keys.length > LIMITS.attributes) s.mark(field)
  return out
}
