/**
 * OTLP/HTTP protobuf bodies (`ExportLogsServiceRequest`, `ExportTraceServiceRequest`) read with
 * protobufjs's `Reader`, field by field, into the records of model.ts; and the answers
 * (`Export*ServiceResponse` with its partial success) written with its `Writer`.
 *
 * A decoder of our own rather than the generated one: `@opentelemetry/otlp-transformer` only
 * writes requests (and reads answers), and a generated decoder reads every value whole, however
 * deep it nests or many values it has, before anything can look at it. Here a value deeper than
 * OTLP_LIMITS.depth, or an array or list longer than OTLP_LIMITS.values, is skipped by its length
 * (no recursion, no copy) and refuses the one record that holds it; a body that is not protobuf
 * (truncated, a wrong wire type) is refused whole (OtlpDecodeError).
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
import { WireReader as Reader, WireWriter } from './protowire.js'

const VARINT = 0
const FIXED64 = 1
const LEN = 2

/** Calls `field(number, wireType)` for each field of the message ending at `end`. */
function fields(reader: Reader, end: number, field: (n: number, wt: number) => boolean): void {
  while (reader.pos < end) {
    const tag = reader.uint32()
    const n = tag >>> 3
    const wt = tag & 7
    if (n === 0) throw new OtlpDecodeError('a field numbered 0')
    if (!field(n, wt)) reader.skipType(wt)
  }
  if (reader.pos !== end) throw new OtlpDecodeError('a message runs past its length')
}

/** The end of the length-delimited field starting here (checked against the message's end). */
function lengthEnd(reader: Reader, end: number, wt: number, what: string): number {
  if (wt !== LEN) throw new OtlpDecodeError(`${what}: wire type ${wt}, expected ${LEN}`)
  const length = reader.uint32()
  const stop = reader.pos + length
  if (stop > end) throw new OtlpDecodeError(`${what}: longer than its message`)
  return stop
}

function want(wt: number, expected: number, what: string): void {
  if (wt !== expected) throw new OtlpDecodeError(`${what}: wire type ${wt}, expected ${expected}`)
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

/** A 64-bit integer: a number when exact, else its decimal digits. */
function int64(n: bigint): number | string {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(n)
    : n.toString()
}

/** What a value may not exceed, and where its problems go. */
interface Budget {
  problems: string[]
}

function anyValue(reader: Reader, end: number, depth: number, budget: Budget, path: string) {
  let value: OtlpValue = null
  fields(reader, end, (n, wt) => {
    switch (n) {
      case 1:
        want(wt, LEN, path)
        value = reader.string()
        return true
      case 2:
        want(wt, VARINT, path)
        value = reader.bool()
        return true
      case 3:
        want(wt, VARINT, path)
        value = int64(reader.int64())
        return true
      case 4:
        want(wt, FIXED64, path)
        value = reader.double()
        return true
      case 5:
      case 6: {
        const stop = lengthEnd(reader, end, wt, path)
        if (depth >= OTLP_LIMITS.depth) {
          budget.problems.push(`${path}: nested deeper than ${OTLP_LIMITS.depth} levels`)
          reader.pos = stop
          value = null
          return true
        }
        value =
          n === 5
            ? arrayValue(reader, stop, depth + 1, budget, path)
            : kvList(reader, stop, depth + 1, budget, path)
        return true
      }
      case 7:
        want(wt, LEN, path)
        value = reader.bytes()
        return true
      default:
        return false
    }
  })
  return value
}

function arrayValue(reader: Reader, end: number, depth: number, budget: Budget, path: string) {
  const values: OtlpValue[] = []
  fields(reader, end, (n, wt) => {
    if (n !== 1) return false
    const stop = lengthEnd(reader, end, wt, path)
    if (values.length >= OTLP_LIMITS.values) {
      // One value too many: the rest of the array is skipped at once, not walked.
      budget.problems.push(`${path}: more than ${OTLP_LIMITS.values} values`)
      reader.pos = end
      return true
    }
    values.push(anyValue(reader, stop, depth, budget, `${path}[${values.length}]`))
    return true
  })
  return values
}

function kvList(reader: Reader, end: number, depth: number, budget: Budget, path: string) {
  const map: Attributes = new Map()
  keyValues(reader, end, depth, budget, path, map, OTLP_LIMITS.values)
  return map
}

/** The `KeyValue`s (field 1 of a list, or the attributes field of a message) into `into`. */
function keyValue(
  reader: Reader,
  end: number,
  depth: number,
  budget: Budget,
  path: string,
  into: Attributes,
  limit: number,
): void {
  if (into.size >= limit) {
    if (!budget.problems.some((p) => p.startsWith(`${path}: more than`)))
      budget.problems.push(`${path}: more than ${limit} attributes`)
    reader.pos = end
    return
  }
  let key = ''
  let value: OtlpValue = null
  let valueAt = -1
  let valueEnd = -1
  fields(reader, end, (n, wt) => {
    if (n === 1) {
      want(wt, LEN, `${path} key`)
      key = reader.string()
      return true
    }
    if (n === 2) {
      // The key may come after its value: the value is read once the key is known.
      valueEnd = lengthEnd(reader, end, wt, path)
      valueAt = reader.pos
      reader.pos = valueEnd
      return true
    }
    return false
  })
  if (valueAt >= 0) {
    const after = reader.pos
    reader.pos = valueAt
    value = anyValue(reader, valueEnd, depth, budget, path ? `${path}.${key}` : key)
    reader.pos = after
  }
  into.set(key, value)
}

function keyValues(
  reader: Reader,
  end: number,
  depth: number,
  budget: Budget,
  path: string,
  into: Attributes,
  limit: number,
): void {
  fields(reader, end, (n, wt) => {
    if (n !== 1) return false
    const stop = lengthEnd(reader, end, wt, path)
    keyValue(reader, stop, depth, budget, path, into, limit)
    return true
  })
}

/** One attribute (`KeyValue`, a field of a resource, scope, record or span) into `into`. */
function attribute(reader: Reader, end: number, wt: number, budget: Budget, into: Attributes) {
  const stop = lengthEnd(reader, end, wt, 'attributes')
  keyValue(reader, stop, 0, budget, '', into, OTLP_LIMITS.attributes)
}

function resource(reader: Reader, end: number, budget: Budget, into: Attributes): void {
  fields(reader, end, (n, wt) => {
    if (n !== 1) return false
    attribute(reader, end, wt, budget, into)
    return true
  })
}

function scope(reader: Reader, end: number, budget: Budget) {
  const out = { name: '', version: '' }
  fields(reader, end, (n, wt) => {
    if (n === 1 || n === 2) {
      want(wt, LEN, 'scope')
      out[n === 1 ? 'name' : 'version'] = reader.string()
      return true
    }
    if (n === 3) {
      // Scope attributes are not read by any profile: checked for their shape, then passed over.
      attribute(reader, end, wt, budget, new Map())
      return true
    }
    return false
  })
  return out
}

function bytesField(reader: Reader, wt: number, what: string): string {
  want(wt, LEN, what)
  return hex(reader.bytes())
}

function logRecord(reader: Reader, end: number, record: OtlpRecord): void {
  const budget = { problems: record.problems }
  fields(reader, end, (n, wt) => {
    switch (n) {
      case 1:
      case 11:
        want(wt, FIXED64, 'time_unix_nano')
        record[n === 1 ? 'timeUnixNano' : 'observedTimeUnixNano'] = reader.fixed64().toString()
        return true
      case 6:
        attribute(reader, end, wt, budget, record.attributes)
        return true
      case 9:
        record.traceId = bytesField(reader, wt, 'trace_id')
        return true
      case 10:
        record.spanId = bytesField(reader, wt, 'span_id')
        return true
      case 12:
        want(wt, LEN, 'event_name')
        record.name = reader.string()
        return true
      default:
        // body (5), severity (2, 3), flags (8), dropped count (7): not read by any profile.
        return false
    }
  })
}

function span(reader: Reader, end: number, record: OtlpRecord): void {
  const budget = { problems: record.problems }
  fields(reader, end, (n, wt) => {
    switch (n) {
      case 1:
        record.traceId = bytesField(reader, wt, 'trace_id')
        return true
      case 2:
        record.spanId = bytesField(reader, wt, 'span_id')
        return true
      case 5:
        want(wt, LEN, 'name')
        record.name = reader.string()
        return true
      case 6:
        want(wt, VARINT, 'kind')
        record.kind = reader.int32()
        return true
      case 7:
        want(wt, FIXED64, 'start_time_unix_nano')
        record.timeUnixNano = reader.fixed64().toString()
        return true
      case 9:
        attribute(reader, end, wt, budget, record.attributes)
        return true
      case 15: {
        const stop = lengthEnd(reader, end, wt, 'status')
        fields(reader, stop, (s, swt) => {
          if (s !== 3) return false
          want(swt, VARINT, 'status.code')
          record.statusCode = reader.int32()
          return true
        })
        return true
      }
      default:
        // Events (11) and links (13) are not read by any profile; their bytes are skipped.
        return false
    }
  })
}

/** Field numbers of the two requests: request -> resource_x -> scope_x -> items. */
const SHAPES: Record<Signal, { item: (r: Reader, end: number, rec: OtlpRecord) => void }> = {
  log: { item: logRecord },
  span: { item: span },
}

/**
 * The records of a protobuf `ExportLogsServiceRequest` (`log`) or `ExportTraceServiceRequest`
 * (`span`). Throws OtlpDecodeError when the body is not one.
 */
export function decodeProtobuf(body: Uint8Array, signal: Signal): Decoded {
  const reader = new Reader(body)
  const records: OtlpRecord[] = []
  let count = 0
  let resourceIndex = 0
  try {
    fields(reader, body.length, (n, wt) => {
      if (n !== 1) return false
      const rEnd = lengthEnd(reader, body.length, wt, 'resource')
      const r = records.length
      const rIndex = resourceIndex++
      const resourceAttrs: Attributes = new Map()
      const resourceBudget = { problems: [] as string[] }
      let scopeIndex = 0
      fields(reader, rEnd, (rn, rwt) => {
        if (rn === 1) {
          const stop = lengthEnd(reader, rEnd, rwt, 'resource')
          resource(reader, stop, resourceBudget, resourceAttrs)
          return true
        }
        if (rn !== 2) return false
        const sEnd = lengthEnd(reader, rEnd, rwt, 'scope')
        const s = records.length
        const sIndex = scopeIndex++
        let scopeOf = { name: '', version: '' }
        const scopeBudget = { problems: [] as string[] }
        let itemIndex = 0
        fields(reader, sEnd, (sn, swt) => {
          if (sn === 1) {
            const stop = lengthEnd(reader, sEnd, swt, 'scope')
            scopeOf = scope(reader, stop, scopeBudget)
            return true
          }
          if (sn !== 2) return false
          const iEnd = lengthEnd(reader, sEnd, swt, signal)
          count++
          const where = `${rIndex}/${sIndex}/${itemIndex++}`
          if (count > OTLP_LIMITS.records) {
            reader.pos = iEnd
            return true
          }
          const record = emptyRecord(signal, where)
          SHAPES[signal].item(reader, iEnd, record)
          records.push(record)
          return true
        })
        for (const record of records.slice(s)) {
          record.scope = scopeOf
          record.problems.unshift(...scopeBudget.problems.map((p) => `scope: ${p}`))
        }
        return true
      })
      for (const record of records.slice(r)) {
        record.resource = resourceAttrs
        record.problems.unshift(...resourceBudget.problems.map((p) => `resource: ${p}`))
      }
      return true
    })
  } catch (err) {
    if (err instanceof OtlpDecodeError) throw err
    // The reader throws RangeError past the end of the body or on an invalid wire type.
    throw new OtlpDecodeError(err instanceof Error ? err.message : 'not protobuf')
  }
  return { records, count }
}

/** A protobuf `Export{Logs,Trace}ServiceResponse`: partial_success only when something was refused. */
export function encodeProtobufAnswer(rejected: number, message: string): Uint8Array {
  const writer = new WireWriter()
  if (rejected > 0 || message !== '') {
    const inner = new WireWriter()
    if (rejected > 0) inner.tag(1, VARINT).varint(BigInt(rejected))
    if (message !== '') inner.tag(2, LEN).string(message)
    writer.tag(1, LEN).bytes(inner.finish())
  }
  return writer.finish()
}

/** For tests and the JSON answer: a protobuf answer read back (rejected count and message). */
export function decodeProtobufAnswer(body: Uint8Array): { rejected: number; message: string } {
  const reader = new Reader(body)
  const out = { rejected: 0, message: '' }
  fields(reader, body.length, (n, wt) => {
    if (n !== 1) return false
    const end = lengthEnd(reader, body.length, wt, 'partial_success')
    fields(reader, end, (p, pwt) => {
      if (p === 1) {
        want(pwt, VARINT, 'rejected')
        out.rejected = Number(int64(reader.int64()))
        return true
      }
      if (p === 2) {
        want(pwt, LEN, 'error_message')
        out.message = reader.string()
        return true
      }
      return false
    })
    return true
  })
  return out
}
