/**
 * OTLP log requests in the JSON encoding (what the emitter's `otlp` transport writes) made into
 * OTLP protobuf by the OpenTelemetry JS SDK: each record re-emitted through an SDK `Logger` (its
 * time, name, body and attributes kept) and serialized by the SDK's own `ProtobufLogsSerializer`.
 * That is what an OpenTelemetry Collector's `otlphttp` exporter (protobuf by default) forwards of
 * such a request, and the OTLP arm of `bench:ingest` sends the same events this way.
 */
import type { Attributes } from '@opentelemetry/api'
import type { AnyValue, AnyValueMap } from '@opentelemetry/api-logs'
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs'
import { exportLogsRequest } from '../../src/collectors/emitter/transports/otlp.js'
import type { AuditEvent } from '../../src/events/schema.js'

/** An OTLP JSON `AnyValue` (the kinds the emitter writes, and kvlists). */
export type JsonAnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string | number }
  | { doubleValue: number }
  | { arrayValue: { values?: JsonAnyValue[] } }
  | { kvlistValue: { values?: JsonKeyValue[] } }
export interface JsonKeyValue {
  key: string
  value: JsonAnyValue
}
export interface JsonLogRecord {
  timeUnixNano?: string
  observedTimeUnixNano?: string
  eventName?: string
  severityNumber?: number
  body?: JsonAnyValue
  attributes?: JsonKeyValue[]
}
/** An OTLP `ExportLogsServiceRequest` in the JSON encoding. */
export interface JsonLogsRequest {
  resourceLogs?: {
    resource?: { attributes?: JsonKeyValue[] }
    scopeLogs?: { scope?: { name?: string; version?: string }; logRecords?: JsonLogRecord[] }[]
  }[]
}

function plain(value: JsonAnyValue): AnyValue {
  if ('stringValue' in value) return value.stringValue
  if ('boolValue' in value) return value.boolValue
  // The SDK writes a JavaScript integer as `intValue`: safe integers (the emitter's) stay exact.
  if ('intValue' in value) return Number(value.intValue)
  if ('doubleValue' in value) return value.doubleValue
  if ('arrayValue' in value) return (value.arrayValue.values ?? []).map(plain)
  return attributes(value.kvlistValue.values)
}

export function attributes(list: readonly JsonKeyValue[] | undefined): AnyValueMap {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, plain(kv.value)]))
}

/** Nanoseconds since the epoch (a decimal string) as the SDK's [seconds, nanoseconds]. */
function hrTime(nanos: string | undefined): [number, number] | undefined {
  if (nanos === undefined || nanos === '0') return undefined
  const n = BigInt(nanos)
  return [Number(n / 1_000_000_000n), Number(n % 1_000_000_000n)]
}

/** The request's records, one resource after another, as the SDK serializes them in protobuf. */
export async function protobufLogs(request: JsonLogsRequest): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for (const resourceLogs of request.resourceLogs ?? []) {
    const memory = new InMemoryLogRecordExporter()
    const provider = new LoggerProvider({
      resource: resourceFromAttributes(attributes(resourceLogs.resource?.attributes) as Attributes),
      processors: [new SimpleLogRecordProcessor({ exporter: memory })],
    })
    for (const scopeLogs of resourceLogs.scopeLogs ?? []) {
      const logger = provider.getLogger(scopeLogs.scope?.name ?? '', scopeLogs.scope?.version)
      for (const r of scopeLogs.logRecords ?? [])
        logger.emit({
          timestamp: hrTime(r.timeUnixNano),
          observedTimestamp: hrTime(r.observedTimeUnixNano),
          eventName: r.eventName,
          severityNumber: r.severityNumber,
          body: r.body === undefined ? undefined : plain(r.body),
          attributes: attributes(r.attributes),
        })
    }
    await provider.forceFlush()
    parts.push(ProtobufLogsSerializer.serializeRequest(memory.getFinishedLogRecords())!)
    await provider.shutdown()
  }
  // Requests of one resource each, concatenated: repeated `resource_logs` fields (protobuf
  // merges a message's concatenations), one request.
  return Buffer.concat(parts)
}

/** Events as one protobuf request: each the log record the emitter's `otlp` transport writes. */
export function eventsAsProtobuf(events: readonly AuditEvent[]): Promise<Uint8Array> {
  const json = exportLogsRequest(events.map((event) => ({ event, json: '' })))
  return protobufLogs(JSON.parse(json) as JsonLogsRequest)
}
