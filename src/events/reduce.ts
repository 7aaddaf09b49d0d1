/**
 * The last resort of a collector: an event the contract refuses is recorded reduced to what
 * passes, never dropped, so nothing a client writes into a request (a JWT in a user agent, a lone
 * surrogate in a tool name, a batch whose attributes outgrow their bound) keeps that request out
 * of the audit trail.
 *
 * In order: every string and key is cleaned (raw JWTs cut, lone surrogates and control characters
 * replaced: see clean.ts), members deeper than the contract allows, forbidden keys and members
 * whose getters throw are left out; then, for what the contract still refuses, an over-long string
 * or list is cut to its bound and any other refused member removed (its parent object when the
 * member is required), a few rounds at most; attributes are dropped, largest first, until they
 * fit. Every path changed is listed in `attributes.reduced`. The identity of the event (type,
 * tenant, source, resource, decision) is never invented: an event that needs one of them changed
 * stays refused.
 */
import { cutAt } from './clean.js'
import { parseEvent } from './parse.js'
import { cleanCopy } from './reduce-copy.js'
import { at, spell, type Path } from './reduce-path.js'
import { AuditEventSchema, LIMITS, type AuditEvent } from './schema.js'

export type ReduceResult =
  { ok: true; event: AuditEvent; reduced: string[] } | { ok: false; reasons: string[] }

const MAX_ROUNDS = 6
/** The marker lists at most this many paths (and says how many there were). */
const MAX_LISTED = 20
/** Members that name the event itself: never removed to make it pass. */
const IDENTITY = new Set([
  'schema_version',
  'event_id',
  'event_type',
  'occurred_at',
  'tenant',
  'source',
  'resource',
  'decision',
  'reason',
  'aud_validated',
  'token',
  'subject_token',
  'grant_type',
])

export interface ReduceOptions {
  /** the largest event, in bytes of UTF-8 JSON, the caller can send */
  maxBytes?: number
}

/** Never throws: any input, of any shape, gets an answer. */
export function reduceEvent(input: unknown, options: ReduceOptions = {}): ReduceResult {
  try {
    return reduce(input, options.maxBytes ?? Infinity)
  } catch (err) {
    return { ok: false, reasons: [`(root): could not be reduced (${(err as Error)?.name})`] }
  }
}

function reduce(input: unknown, maxBytes: number): ReduceResult {
  const reduced = new Set<string>()
  const copy = cleanCopy(input, [], reduced)
  if (copy === null || typeof copy !== 'object' || Array.isArray(copy))
    return { ok: false, reasons: ['(root): must be a JSON object'] }
  const event = copy as Record<string, unknown>

  for (let round = 0; round < MAX_ROUNDS; round++) {
    const parsed = AuditEventSchema.safeParse(event)
    if (parsed.success) break
    let changed = false
    for (const issue of parsed.error.issues) {
      const path = issue.path as Path
      if (path.length > 0 && fix(event, path, issue as { code: string; maximum?: unknown })) {
        reduced.add(spell(path))
        changed = true
      }
    }
    if (!changed) break
  }
  fitAttributes(event, reduced)
  if (reduced.size > 0) mark(event, reduced)
  shrinkTo(event, maxBytes, reduced)
  const result = parseEvent(event)
  if (!result.ok) return result
  return { ok: true, event: result.event, reduced: [...reduced] }
}

/**
 * Halves the largest list or string (identity members, the text members of identity objects and
 * the marker aside) until the event's UTF-8 JSON is at most `maxBytes`.
 */
function shrinkTo(event: Record<string, unknown>, maxBytes: number, reduced: Set<string>): void {
  for (let round = 0; round < 64; round++) {
    const json = JSON.stringify(event)
    if (json.length * 4 <= maxBytes || Buffer.byteLength(json) <= maxBytes) return
    let largest: { path: Path; size: number } | undefined
    const stack: { node: unknown; path: Path }[] = [{ node: event, path: [] }]
    while (stack.length > 0) {
      const { node, path } = stack.pop()!
      if (node === null || typeof node !== 'object') continue
      for (const [key, value] of Object.entries(node)) {
        const p = [...path, Array.isArray(node) ? Number(key) : key]
        if (p.length === 1 && IDENTITY.has(key) && typeof value !== 'object') continue
        // The text members of an identity object (token.jti, source.id, source.kind...) name it:
        // cut, they would name another token or source. Its lists (aud, scopes) may be halved.
        if (p.length === 2 && IDENTITY.has(String(p[0])) && typeof value === 'string') continue
        if (p.length === 2 && p[0] === 'attributes' && key.startsWith('reduced')) continue
        const size =
          typeof value === 'string'
            ? value.length
            : Array.isArray(value)
              ? JSON.stringify(value).length
              : 0
        if (size > 1 && (largest === undefined || size > largest.size)) largest = { path: p, size }
        if (value !== null && typeof value === 'object') stack.push({ node: value, path: p })
      }
    }
    if (largest === undefined) return
    const parent = at(event, largest.path.slice(0, -1)) as Record<string | number, unknown>
    const key = largest.path[largest.path.length - 1]!
    const value = parent[key]
    if (typeof value === 'string') parent[key] = cutAt(value, Math.ceil(value.length / 2))
    else if (Array.isArray(value)) value.length = Math.floor(value.length / 2)
    reduced.add(spell(largest.path))
    mark(event, reduced)
  }
}

/** Makes the member at `path` pass: cut when too long, else removed. Says whether it changed. */
function fix(
  event: Record<string, unknown>,
  path: Path,
  issue: { code: string; maximum?: unknown },
) {
  const parent = at(event, path.slice(0, -1))
  if (parent === null || typeof parent !== 'object') return false
  const key = path[path.length - 1]!
  const container = parent as Record<string | number, unknown>
  const value = container[key]
  if (issue.code === 'too_big' && typeof issue.maximum === 'number') {
    if (typeof value === 'string') {
      container[key] = cutAt(value, issue.maximum)
      return true
    }
    if (Array.isArray(value)) {
      value.length = issue.maximum
      return true
    }
  }
  if (value === undefined) {
    // A required member is missing: its optional parent goes, unless that names the event.
    if (path.length < 2) return false
    return fix(event, path.slice(0, -1), { code: 'remove' })
  }
  if (path.length === 1 && IDENTITY.has(String(key))) return false
  if (Array.isArray(parent)) parent.splice(key as number, 1)
  else delete container[key]
  return true
}

/** Attributes (and unknown members, which parseEvent moves there) within their bounds. */
function fitAttributes(event: Record<string, unknown>, reduced: Set<string>): void {
  const attrs = event.attributes
  if (
    attrs !== undefined &&
    (attrs === null || typeof attrs !== 'object' || Array.isArray(attrs))
  ) {
    delete event.attributes
    reduced.add('attributes')
    return
  }
  const all = (attrs ?? {}) as Record<string, unknown>
  // Room for the marker itself.
  const budget = LIMITS.attributesJson - 2_048
  const sizes = Object.keys(all).map((k) => [k, JSON.stringify(all[k])?.length ?? 0] as const)
  let total = JSON.stringify(all).length
  for (const [key, size] of [...sizes].sort((a, b) => b[1] - a[1])) {
    if (total <= budget) break
    delete all[key]
    total -= size + key.length + 4
    reduced.add(`attributes.${key}`)
  }
  // Too many: the last ones go (a collector writes its own attributes first).
  const keys = Object.keys(all)
  for (const key of keys.slice(LIMITS.attributes - 2)) {
    delete all[key]
    reduced.add(`attributes.${key}`)
  }
}

function mark(event: Record<string, unknown>, reduced: Set<string>): void {
  const paths = [...reduced].sort()
  const attrs = (event.attributes ?? {}) as Record<string, unknown>
  attrs.reduced = paths.slice(0, MAX_LISTED).map((p) => cutAt(p, LIMITS.attributeKey))
  if (paths.length > MAX_LISTED) attrs.reduced_count = paths.length
  event.attributes = attrs
}
