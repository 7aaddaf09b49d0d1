/**
 * OTLP transport: POSTs batches as OTLP/HTTP logs (the OTLP JSON encoding, gzip), one log record
 * per event, carrying the event in the `audtrail.*` attributes of docs/otlp.md. Its target is an
 * OpenTelemetry Collector's OTLP/HTTP receiver (`http://collector:4318/v1/logs`) that exports to
 * audtrail's `/v1/otlp/logs`, or that endpoint itself.
 *
 * The same semantics as the HTTP transport (it is one, with another body): redirects refused,
 * 400/413/422 bisected down to the refused events, every other failure retried by the emitter.
 * The OTLP answer's `partialSuccess` names refused records by position (`0/0/<index>`); audtrail
 * names the first ten, so a batch with more refusals than names is bisected until each is named.
 * A Collector in between answers for itself (its own queue), not for audtrail.
 *
 * The encoding is written here, not imported: collectors depend on nothing but `events/`.
 */
import { promisify } from 'node:util'
import { gzip as gzipCallback } from 'node:zlib'
import type { AuditEvent } from '../../../events/schema.js'
import { createPostTransport, type PostAnswer } from './http.js'
import type { OutboundEvent, Rejection, Transport } from './types.js'

const gzip = promisify(gzipCallback)

export interface OtlpTransportConfig {
  /** an OTLP/HTTP logs URL: audtrail's `/v1/otlp/logs`, or a Collector's `/v1/logs` */
  url: string
  /** bearer token of a caller with the `ingest` role; sent only in the Authorization header */
  token?: string
  /** gzip the body (default true) */
  gzip?: boolean
  timeoutMs?: number
}

/** Scope name of the records, as an OpenTelemetry instrumentation scope. */
export const OTLP_SCOPE = 'audtrail-emitter'

type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { arrayValue: { values: AnyValue[] } }
interface KeyValue {
  key: string
  value: AnyValue
}

/**
 * Contract v1 fields (dotted paths), each carried as `audtrail.<path>`; `network.ip` is
 * `audtrail.ip`, the requested resource of a presentation `audtrail.resource`, and `attributes`
 * one JSON string. `tenant`, `source.kind` and `source.id` are written on the record too.
 */
const FIELDS = [
  'event_type',
  'event_id',
  'tenant',
  'source.kind',
  'source.id',
  'issuer',
  'client_id',
  'subject',
  'session_id',
  'network.user_agent',
  'token.jti',
  'token.fingerprint',
  'token.iat',
  'token.exp',
  'token.aud',
  'token.scopes',
  'token.format',
  'token.cnf.jkt',
  'token.cnf.x5t#S256',
  'requested_resources',
  'presented_aud',
  'granted_aud',
  'aud_validated',
  'decision',
  'reason',
  'grant_type',
  'requested_scopes',
  'granted_scopes',
  'subject_token.jti',
  'subject_token.fingerprint',
  'actor.subject',
  'actor.client_id',
  'actor.token.jti',
  'actor.token.fingerprint',
  'tool.method',
  'tool.name',
  'tool.header_method',
  'tool.header_name',
  'http.method',
  'http.path',
  'http.status',
  'proof.scheme',
  'proof.verdict',
  'proof.failure',
  'proof.jti_fingerprint',
  'proof.iat',
  'proof.htm',
  'proof.htu',
  'proof.ath',
  'proof.alg',
  'proof.jkt',
  'proof.cert_thumbprint',
] as const

/** Attribute names the transport writes (without `audtrail.`), for the docs and their test. */
export const OTLP_EMITTED_ATTRIBUTES: readonly string[] = [
  ...FIELDS.map((f) => (f === 'network.user_agent' ? 'user_agent' : f)),
  'ip',
  'resource',
  'attributes',
]

function at(event: unknown, path: string): unknown {
  let value = event
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

function anyValue(value: unknown): AnyValue | undefined {
  if (typeof value === 'string') return { stringValue: value }
  if (typeof value === 'boolean') return { boolValue: value }
  if (typeof value === 'number' && Number.isSafeInteger(value)) return { intValue: String(value) }
  if (Array.isArray(value) && value.every((v) => typeof v === 'string'))
    return { arrayValue: { values: value.map((v) => ({ stringValue: v })) } }
  return undefined
}

/** One event as an OTLP log record (JSON encoding). */
export function logRecord(event: AuditEvent): Record<string, unknown> {
  const attributes: KeyValue[] = []
  const add = (name: string, value: unknown) => {
    const v = anyValue(value)
    if (v !== undefined) attributes.push({ key: `audtrail.${name}`, value: v })
  }
  for (const path of FIELDS)
    add(path === 'network.user_agent' ? 'user_agent' : path, at(event, path))
  add('ip', event.network?.ip)
  if (event.event_type === 'token.presented') add('resource', event.resource)
  if (event.attributes !== undefined && Object.keys(event.attributes).length > 0)
    add('attributes', JSON.stringify(event.attributes))
  const nanos = `${BigInt(Date.parse(event.occurred_at)) * 1_000_000n}`
  return {
    timeUnixNano: nanos,
    observedTimeUnixNano: nanos,
    eventName: event.event_type,
    attributes,
  }
}

/** A batch as an OTLP `ExportLogsServiceRequest` in JSON: one resource, one scope, in order. */
export function exportLogsRequest(batch: readonly OutboundEvent[]): string {
  const records = batch.map((e) => logRecord(e.event))
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [] },
        scopeLogs: [{ scope: { name: OTLP_SCOPE }, logRecords: records }],
      },
    ],
  })
}

/**
 * The OTLP answer: `partialSuccess.rejectedLogRecords` counts the refused records, `errorMessage`
 * names the first of them as `0/0/<index>: <reason>` separated by ` | ` (src/otlp/intake.ts).
 */
export function readOtlpAnswer(text: string, size: number): PostAnswer | undefined {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return undefined
  }
  const partial = (body as { partialSuccess?: unknown } | null)?.partialSuccess
  if (partial === null || typeof partial !== 'object') return undefined
  const { rejectedLogRecords, errorMessage } = partial as Record<string, unknown>
  const count = Number(rejectedLogRecords ?? 0)
  if (!Number.isSafeInteger(count) || count <= 0) return { rejected: [], complete: true }
  const message = typeof errorMessage === 'string' ? errorMessage : ''
  const named = new Map<number, string>()
  for (const part of message.split(' | ')) {
    const m = /(?:^|\): )0\/0\/(\d+): (.*)$/s.exec(part)
    const index = m ? Number(m[1]) : -1
    if (m && Number.isInteger(index) && index < size) named.set(index, m[2]!.slice(0, 500))
  }
  const rejected: Rejection[] = [...named].map(([index, reason]) => ({ index, reason }))
  if (rejected.length === 0) rejected.push({ index: 0, reason: message.slice(0, 500) })
  return { rejected, complete: named.size >= count }
}

export function createOtlpTransport(config: OtlpTransportConfig): Transport {
  const compress = config.gzip ?? true
  return createPostTransport({
    name: 'otlp',
    url: config.url,
    token: config.token,
    timeoutMs: config.timeoutMs,
    headers: {
      'content-type': 'application/json',
      ...(compress ? { 'content-encoding': 'gzip' } : {}),
    },
    async body(batch) {
      const json = exportLogsRequest(batch)
      return compress ? new Uint8Array(await gzip(json)) : json
    },
    answer: readOtlpAnswer,
  })
}
