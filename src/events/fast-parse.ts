/**
 * A compiled fast path for the contract's happy path (docs/design/pipeline.md#validation).
 *
 * The zod schemas (schema.ts) stay the one source of truth and of every refusal's reason. From
 * them, once per process, this module derives for each event type:
 *
 * - a validator: the type's JSON Schema (zod's own `z.toJSONSchema`) compiled by Ajv into one
 *   JavaScript function. Ajv is set to read the schema as zod checks: string lengths in UTF-16
 *   code units (`unicode: false`), patterns as zod's regular expressions (no `u` flag), and the
 *   string formats by zod's own checks (uuid, date-time and IPv4 are the patterns zod tests, which
 *   the JSON Schema carries; IPv6 is zod's check itself);
 * - a copier: the output zod builds from a valid input, built by walking the same schema (objects
 *   with their declared keys first in declaration order and the undeclared ones after, as zod
 *   writes them; defaults filled in; lists copied; undeclared values shared).
 *
 * An event the validator accepts is copied and returned; any other goes to zod, which accepts it
 * or says why not. So the fast path may only ever accept what zod accepts, with the very output
 * zod gives: the differential property test (test/events/fast-parse.test.ts) holds that on the
 * hostile corpus and on generated events, valid and near-valid.
 *
 * What cannot be read from a JSON Schema makes the fast path step aside, decided when the module
 * loads: a type whose schema holds anything this module does not know (a transform, a refinement,
 * a check or format it does not translate) gets no fast path, and zod validates all its events.
 */
import { createRequire } from 'node:module'
import type { Ajv, Options, ValidateFunction } from 'ajv'
import { z } from 'zod'
import { AuditEventSchema, type AuditEvent, type EventType } from './schema.js'

/** Just enough of zod's internal definition to walk a schema (zod v4 `_zod.def`). */
interface Def {
  type: string
  shape?: Record<string, Schema>
  catchall?: Schema
  innerType?: Schema
  element?: Schema
  keyType?: Schema
  valueType?: Schema
  options?: Schema[]
  defaultValue?: unknown
  /** A string format schema (z.uuid(), z.iso.datetime(), ...) is its own check. */
  format?: string
  checks?: { _zod: { def: { check: string; format?: string } } }[]
}
interface Schema {
  _zod: { def: Def }
}

/** The output zod makes of a value its schema accepts. */
type Copier = (value: unknown) => unknown

class Unsupported extends Error {}

/** Checks that translate to JSON Schema exactly (given the Ajv options below). */
const KNOWN_CHECKS = new Set([
  'min_length',
  'max_length',
  'length_equals',
  'greater_than',
  'less_than',
  'number_format',
])
/** String formats whose zod check is the pattern the JSON Schema carries, or one defined below. */
const KNOWN_FORMATS = new Set(['regex', 'uuid', 'datetime', 'ipv4', 'ipv6'])
/** Types whose valid values zod returns as they are. */
const LEAVES = new Set(['string', 'number', 'boolean', 'enum', 'literal', 'unknown'])

const same: Copier = (v) => v

function checkChecks(def: Def): void {
  if (def.format !== undefined && !KNOWN_FORMATS.has(def.format))
    throw new Unsupported(`format ${def.format}`)
  for (const check of def.checks ?? []) {
    const c = check._zod.def
    if (
      c.check === 'string_format' ? !KNOWN_FORMATS.has(c.format ?? '') : !KNOWN_CHECKS.has(c.check)
    )
      throw new Unsupported(`check ${c.check}${c.format ? ` (${c.format})` : ''}`)
  }
}

/** How a member is present in zod's output (zod's handlePropertyResult, for JSON input). */
interface Member {
  key: string
  copy: Copier
  /** A default fills it in when absent or undefined. */
  fallback?: () => unknown
}

function memberOf(key: string, schema: Schema): Member {
  const def = schema._zod.def
  if (def.type === 'default') {
    checkChecks(def)
    // zod's getter gives a fresh copy of the default each time it is read.
    return { key, copy: copierOf(def.innerType!), fallback: () => def.defaultValue }
  }
  if (def.type === 'optional') {
    checkChecks(def)
    return { key, copy: copierOf(def.innerType!) }
  }
  return { key, copy: copierOf(schema) }
}

/** The copier of `schema`, or Unsupported when zod would do more than check and copy. */
function copierOf(schema: Schema): Copier {
  const def = schema._zod.def
  checkChecks(def)
  if (LEAVES.has(def.type)) return same
  switch (def.type) {
    case 'union': {
      for (const option of def.options ?? []) {
        const d = option._zod.def
        checkChecks(d)
        if (!LEAVES.has(d.type)) throw new Unsupported('a union of other than plain values')
      }
      return same
    }
    case 'array': {
      const item = copierOf(def.element!)
      return item === same
        ? (v) => (v as unknown[]).slice()
        : (v) => (v as unknown[]).map((x) => item(x))
    }
    case 'record': {
      const value = copierOf(def.valueType!)
      copierOf(def.keyType!)
      if (def.keyType!._zod.def.type !== 'string') throw new Unsupported('record keys')
      return (v) => {
        const input = v as Record<string, unknown>
        const out: Record<string, unknown> = {}
        for (const key of Object.keys(input)) if (key !== '__proto__') out[key] = value(input[key])
        return out
      }
    }
    case 'object': {
      const shape = def.shape!
      const keys = Object.keys(shape)
      const declared = new Set(keys)
      const members = keys.filter((k) => k !== '__proto__').map((k) => memberOf(k, shape[k]!))
      let loose = false
      if (def.catchall) {
        if (def.catchall._zod.def.type !== 'unknown') throw new Unsupported('a catchall')
        loose = true
      }
      return (v) => {
        const input = v as Record<string, unknown>
        const out: Record<string, unknown> = {}
        for (let i = 0; i < members.length; i++) {
          const m = members[i]!
          const value = input[m.key]
          if (value === undefined) {
            if (m.fallback) out[m.key] = m.fallback()
            else if (m.key in input) out[m.key] = undefined
          } else out[m.key] = m.copy(value)
        }
        if (loose)
          for (const key in input)
            if (!declared.has(key) && key !== '__proto__') out[key] = input[key]
        return out
      }
    }
    default:
      throw new Unsupported(`type ${def.type}`)
  }
}

/** zod's own IPv6 check (it is not the pattern the JSON Schema carries). */
const IPV6 = z.ipv6()

/**
 * Ajv, loaded on the first compile: the producers' side of `audtrail/events` (collectors,
 * emitter) never validates decoded JSON, and does not load it.
 */
function newAjv(): Ajv {
  const { Ajv: AjvClass } = createRequire(import.meta.url)('ajv') as {
    Ajv: new (options: Options) => Ajv
  }
  return new AjvClass({
    strict: false,
    strictNumbers: true,
    allErrors: false,
    // Lengths in UTF-16 code units (zod's `.max()` on a string), not code points. Deprecated in
    // Ajv 8 but honoured (the differential test has astral characters at the limits).
    unicode: false,
    // zod's regular expressions have no `u` flag.
    unicodeRegExp: false,
    logger: false,
    formats: {
      // The patterns beside these formats are zod's checks of them.
      uuid: true,
      'date-time': true,
      ipv4: true,
      ipv6: (s: string) => IPV6.safeParse(s).success,
    },
  })
}

export interface FastPath {
  validate: ValidateFunction
  copy: Copier
}

/** Each event type's fast path, or why it has none. */
export function compileFastPaths(): Map<string, FastPath | { unsupported: string }> {
  const out = new Map<string, FastPath | { unsupported: string }>()
  const ajv = newAjv()
  const options = (AuditEventSchema as unknown as Schema)._zod.def.options ?? []
  for (const option of options) {
    const tag = option._zod.def.shape?.event_type?._zod.def as { values?: unknown[] } | undefined
    const type = tag?.values?.[0]
    if (typeof type !== 'string') continue
    try {
      const copy = copierOf(option)
      // Draft-07, Ajv's default dialect (its main entry point; no other keyword is needed here).
      const jsonSchema = z.toJSONSchema(option as unknown as z.ZodType, {
        target: 'draft-07',
        io: 'input',
        unrepresentable: 'throw',
      })
      out.set(type, { validate: ajv.compile(jsonSchema), copy })
    } catch (err) {
      out.set(type, { unsupported: err instanceof Error ? err.message : String(err) })
    }
  }
  return out
}

let compiled: Map<EventType, FastPath> | undefined
let enabled = true

/**
 * Switch the fast path off (zod validates every event) or on again, for this thread: for
 * benchmarks that compare the two, and tests. The answers are the same either way.
 */
export function setFastParse(on: boolean): void {
  enabled = on
}

function fastPaths(): Map<EventType, FastPath> {
  if (!compiled) {
    compiled = new Map()
    for (const [type, path] of compileFastPaths())
      if ('validate' in path) compiled.set(type as EventType, path)
  }
  return compiled
}

/**
 * zod's output for `input` when the compiled validator of its event type accepts it; undefined
 * otherwise (then zod decides). `input` must be JSON.parse's output (plain objects and arrays,
 * strings, finite numbers, booleans, null): the validator reads nothing else as zod does.
 */
export function fastParse(input: Record<string, unknown>): AuditEvent | undefined {
  const type = input.event_type
  if (!enabled || typeof type !== 'string') return undefined
  const path = fastPaths().get(type as EventType)
  if (!path || !path.validate(input)) return undefined
  return path.copy(input) as AuditEvent
}
