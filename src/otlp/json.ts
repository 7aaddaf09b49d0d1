/**
 * OTLP/HTTP JSON bodies into the records of model.ts, by the OTLP specification's JSON rules:
 * lowerCamelCase keys, trace and span ids as hex (not base64), 64-bit integers as decimal strings
 * (numbers taken too), enums as integers, unknown fields ignored. A body that is not JSON, or
 * whose envelope (`resourceLogs` / `resourceSpans` and their scopes) has the wrong shape, is
 * refused whole; a value of the wrong type inside a record refuses that record alone, with the
 * same depth and size limits as protobuf (OTLP_LIMITS).
 */
import {
  emptyRecord,
  OTLP_LIMITS,
  OtlpDecodeError,
  type Attributes,
  type Decoded,
  type OtlpRecord,
  type OtlpValue,
  type Signal,
} from './model.js'

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

/** An optional list of the envelope: absent is empty; anything but an array refuses the body. */
function list(parent: Json, key: string, where: string): unknown[] {
  const v = parent[key]
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw new OtlpDecodeError(`${where}${key}: not an array`)
  return v
}

function object(v: unknown, where: string): Json {
  if (!isObject(v)) throw new OtlpDecodeError(`${where}: not an object`)
  return v
}

const INT = /^-?\d{1,20}$/
const UINT = /^\d{1,20}$/

function anyValue(v: unknown, depth: number, problems: string[], path: string): OtlpValue {
  if (v === undefined || v === null) return null
  if (!isObject(v)) {
    problems.push(`${path}: not an AnyValue object`)
    return null
  }
  if ('stringValue' in v) {
    if (typeof v.stringValue === 'string') return v.stringValue
  } else if ('boolValue' in v) {
    if (typeof v.boolValue === 'boolean') return v.boolValue
  } else if ('intValue' in v) {
    const i = v.intValue
    if (typeof i === 'number' && Number.isInteger(i)) return i
    if (typeof i === 'string' && INT.test(i)) {
      const n = Number(i)
      return Number.isSafeInteger(n) ? n : BigInt.asIntN(64, BigInt(i)).toString()
    }
  } else if ('doubleValue' in v) {
    const d = v.doubleValue
    if (typeof d === 'number') return d
    if (d === 'NaN' || d === 'Infinity' || d === '-Infinity') return Number(d)
  } else if ('bytesValue' in v) {
    if (typeof v.bytesValue === 'string') return Buffer.from(v.bytesValue, 'base64')
  } else if ('arrayValue' in v || 'kvlistValue' in v) {
    const inner = (v.arrayValue ?? v.kvlistValue) as unknown
    if (depth >= OTLP_LIMITS.depth) {
      problems.push(`${path}: nested deeper than ${OTLP_LIMITS.depth} levels`)
      return null
    }
    const values = isObject(inner) ? (inner.values ?? []) : undefined
    if (Array.isArray(values)) {
      if (values.length > OTLP_LIMITS.values) {
        problems.push(`${path}: more than ${OTLP_LIMITS.values} values`)
        return null
      }
      if ('arrayValue' in v)
        return values.map((x, i) => anyValue(x, depth + 1, problems, `${path}[${i}]`))
      const map: Attributes = new Map()
      keyValues(values, depth + 1, problems, path, map, OTLP_LIMITS.values)
      return map
    }
  } else {
    // An AnyValue with no value set is empty (OTLP allows it).
    return null
  }
  problems.push(`${path}: a value of the wrong type`)
  return null
}

function keyValues(
  values: unknown[],
  depth: number,
  problems: string[],
  path: string,
  into: Attributes,
  limit: number,
): void {
  if (values.length > limit) {
    problems.push(`${path || 'attributes'}: more than ${limit} attributes`)
    return
  }
  for (const kv of values) {
    if (!isObject(kv) || typeof kv.key !== 'string') {
      problems.push(`${path || 'attributes'}: an attribute without a string key`)
      continue
    }
    into.set(kv.key, anyValue(kv.value, depth, problems, path ? `${path}.${kv.key}` : kv.key))
  }
}

function attributes(v: unknown, problems: string[], into: Attributes): void {
  if (v === undefined || v === null) return
  if (!Array.isArray(v)) {
    problems.push('attributes: not an array')
    return
  }
  keyValues(v, 0, problems, '', into, OTLP_LIMITS.attributes)
}

function id(v: unknown, bytes: number, what: string, problems: string[]): string {
  if (v === undefined || v === null || v === '') return ''
  if (typeof v === 'string' && v.length === bytes * 2 && /^[0-9a-fA-F]+$/.test(v))
    return v.toLowerCase()
  problems.push(`${what}: not ${bytes * 2} hex digits`)
  return ''
}

function nanos(v: unknown, what: string, problems: string[]): string {
  if (v === undefined || v === null) return '0'
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return String(v)
  if (typeof v === 'string' && UINT.test(v)) return BigInt(v).toString()
  problems.push(`${what}: not a count of nanoseconds`)
  return '0'
}

function int(v: unknown, what: string, problems: string[]): number {
  if (v === undefined || v === null) return 0
  if (typeof v === 'number' && Number.isInteger(v)) return v
  problems.push(`${what}: not an integer (OTLP JSON writes enums as integers)`)
  return 0
}

function text(v: unknown, what: string, problems: string[]): string {
  if (v === undefined || v === null) return ''
  if (typeof v === 'string') return v
  problems.push(`${what}: not a string`)
  return ''
}

function logRecord(v: Json, record: OtlpRecord): void {
  const p = record.problems
  record.timeUnixNano = nanos(v.timeUnixNano, 'timeUnixNano', p)
  record.observedTimeUnixNano = nanos(v.observedTimeUnixNano, 'observedTimeUnixNano', p)
  record.traceId = id(v.traceId, 16, 'traceId', p)
  record.spanId = id(v.spanId, 8, 'spanId', p)
  record.name = text(v.eventName, 'eventName', p)
  attributes(v.attributes, p, record.attributes)
}

function span(v: Json, record: OtlpRecord): void {
  const p = record.problems
  record.timeUnixNano = nanos(v.startTimeUnixNano, 'startTimeUnixNano', p)
  record.traceId = id(v.traceId, 16, 'traceId', p)
  record.spanId = id(v.spanId, 8, 'spanId', p)
  record.name = text(v.name, 'name', p)
  record.kind = int(v.kind, 'kind', p)
  if (v.status !== undefined && v.status !== null) {
    if (isObject(v.status)) record.statusCode = int(v.status.code, 'status.code', p)
    else p.push('status: not an object')
  }
  attributes(v.attributes, p, record.attributes)
}

const KEYS: Record<Signal, { resource: string; scope: string; items: string }> = {
  log: { resource: 'resourceLogs', scope: 'scopeLogs', items: 'logRecords' },
  span: { resource: 'resourceSpans', scope: 'scopeSpans', items: 'spans' },
}

/** The records of an OTLP JSON request body (already parsed). Throws OtlpDecodeError. */
export function decodeJsonValue(body: unknown, signal: Signal): Decoded {
  const keys = KEYS[signal]
  const root = object(body, 'the body')
  const records: OtlpRecord[] = []
  let count = 0
  list(root, keys.resource, '').forEach((rv, r) => {
    const rl = object(rv, `${keys.resource}[${r}]`)
    const resourceProblems: string[] = []
    const resource: Attributes = new Map()
    if (rl.resource !== undefined && rl.resource !== null)
      attributes(
        object(rl.resource, `${keys.resource}[${r}].resource`).attributes,
        resourceProblems,
        resource,
      )
    list(rl, keys.scope, `${keys.resource}[${r}].`).forEach((sv, s) => {
      const sl = object(sv, `${keys.resource}[${r}].${keys.scope}[${s}]`)
      const scopeProblems: string[] = []
      const scope = { name: '', version: '' }
      if (sl.scope !== undefined && sl.scope !== null) {
        const sc = object(sl.scope, `${keys.resource}[${r}].${keys.scope}[${s}].scope`)
        scope.name = text(sc.name, 'name', scopeProblems)
        scope.version = text(sc.version, 'version', scopeProblems)
        attributes(sc.attributes, scopeProblems, new Map())
      }
      list(sl, keys.items, `${keys.resource}[${r}].${keys.scope}[${s}].`).forEach((iv, i) => {
        count++
        if (count > OTLP_LIMITS.records) return
        const record = emptyRecord(signal, `${r}/${s}/${i}`)
        record.resource = resource
        record.scope = scope
        record.problems.push(
          ...resourceProblems.map((x) => `resource: ${x}`),
          ...scopeProblems.map((x) => `scope: ${x}`),
        )
        if (isObject(iv)) (signal === 'log' ? logRecord : span)(iv, record)
        else record.problems.push(`${signal === 'log' ? 'log record' : 'span'}: not an object`)
        records.push(record)
      })
    })
  })
  return { records, count }
}

/** An OTLP JSON answer: `partialSuccess` only when something was refused (int64 as a string). */
export function jsonAnswer(signal: Signal, rejected: number, message: string): string {
  if (rejected === 0 && message === '') return '{}'
  const count = signal === 'log' ? 'rejectedLogRecords' : 'rejectedSpans'
  return JSON.stringify({ partialSuccess: { [count]: String(rejected), errorMessage: message } })
}
