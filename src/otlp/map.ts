/**
 * An OTLP record to a contract v1 event candidate, by the profiles that match it (profiles/):
 *
 * - `event`: a value for the pipeline's own validation (`ingest`), which accepts it, answers it
 *   `duplicate`, or refuses it into `rejected_events` with its reasons, as on `/v1/ingest`;
 * - `refused`: a record that cannot be read (values too deep, too many, of the wrong type) or that
 *   carries a raw token (screen.ts): refused here, and kept in `rejected_events` as its summary;
 * - `unmatched`: a record no profile reads (an ordinary span or log line of the same pipeline):
 *   counted as rejected in the OTLP answer with the reason, and not stored.
 *
 * The event id is `audtrail.event_id` when set, else derived from the record (a UUID version 8
 * from SHA-256 of its signal, ids, time, name and attributes): an exporter's retry of the same
 * record is answered `duplicate`, not stored twice.
 */
import { createHash } from 'node:crypto'
import { withoutRawJwtText } from '../events/raw-token.js'
import type { OtlpRecord, OtlpValue } from './model.js'
import { agentgateway } from './profiles/agentgateway.js'
import { audtrail, tenantOf } from './profiles/audtrail.js'
import { genaiMcp } from './profiles/genai-mcp.js'
import type { Draft, Profile } from './profiles/profile.js'
import { screenRecord, summary } from './screen.js'

/** In the order they apply: a later profile overrides an earlier one, field by field. */
export const PROFILES: readonly Profile[] = [genaiMcp, agentgateway, audtrail]

export type Mapped =
  | { kind: 'event'; value: Draft; profiles: string[] }
  | { kind: 'refused'; reasons: string[]; kept: string }
  | { kind: 'unmatched'; reason: string }

export interface MapContext {
  /** The caller's tenant (the event's tenant unless the record names one); undefined: open mode. */
  tenant?: string
}

const NO_PROFILE = `matches no mapping profile (${PROFILES.map((p) => p.id).join(', ')}): see docs/otlp.md`

/** The record's time in RFC 3339 with milliseconds, or why it has none. */
function occurredAt(record: OtlpRecord): string | { problem: string } {
  const nanos = BigInt(
    record.timeUnixNano !== '0' ? record.timeUnixNano : record.observedTimeUnixNano,
  )
  if (nanos === 0n) return { problem: 'the record has no time' }
  const ms = nanos / 1_000_000n
  if (ms > 253_402_300_799_999n) return { problem: 'the record time is past the year 9999' }
  return new Date(Number(ms)).toISOString()
}

/** A stable text of a value (keys sorted), for the derived event id. Depth is bounded by decoding. */
function canonical(value: OtlpValue): string {
  if (value instanceof Map)
    return `{${[...value.keys()]
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value.get(k)!)}`)
      .join(',')}}`
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value instanceof Uint8Array) return `b:${Buffer.from(value).toString('base64')}`
  return JSON.stringify(value)
}

/** A UUID version 8 (RFC 9562 section 5.8) from SHA-256 of the record. */
export function derivedEventId(record: OtlpRecord): string {
  const hash = createHash('sha256')
    .update(
      [
        record.signal,
        record.traceId,
        record.spanId,
        record.timeUnixNano,
        record.name,
        canonical(record.attributes),
        canonical(record.resource),
      ].join('\n'),
    )
    .digest()
  hash[6] = (hash[6]! & 0x0f) | 0x80
  hash[8] = (hash[8]! & 0x3f) | 0x80
  const h = hash.subarray(0, 16).toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

export function mapRecord(record: OtlpRecord, ctx: MapContext): Mapped {
  // A problem names the attribute it is in: a key that is a raw JWT is cut out of the reason.
  if (record.problems.length > 0)
    return {
      kind: 'refused',
      reasons: record.problems.slice(0, 8).map(withoutRawJwtText),
      kept: summary(record),
    }
  const screened = screenRecord(record)
  if (screened.length > 0) return { kind: 'refused', reasons: screened, kept: summary(record) }
  const matching: Profile[] = []
  const declined: string[] = []
  for (const profile of PROFILES) {
    const m = profile.matches(record)
    if (m === true) matching.push(profile)
    else if (typeof m === 'string') declined.push(`${profile.id}: ${m}`)
  }
  if (matching.length === 0)
    return { kind: 'unmatched', reason: declined.length > 0 ? declined.join('; ') : NO_PROFILE }
  const time = occurredAt(record)
  if (typeof time !== 'string')
    return { kind: 'refused', reasons: [time.problem], kept: summary(record) }
  const draft: Draft = { schema_version: 1 }
  for (const profile of matching) profile.apply(record, draft)
  draft.event_type ??= 'token.presented'
  draft.event_id ??= derivedEventId(record)
  draft.occurred_at = time
  const tenant = tenantOf(record) ?? ctx.tenant
  if (tenant !== undefined) draft.tenant = tenant
  const links: Record<string, string> = { 'otlp.signal': record.signal }
  if (record.traceId !== '') links['otlp.trace_id'] = record.traceId
  if (record.spanId !== '') links['otlp.span_id'] = record.spanId
  links['otlp.profiles'] = matching.map((p) => p.id).join(',')
  // The event's own attributes (`audtrail.attributes`) keep theirs; the links are added.
  const own = draft.attributes
  draft.attributes =
    typeof own === 'object' && own !== null
      ? { ...(own as Record<string, unknown>), ...links }
      : links
  return { kind: 'event', value: draft, profiles: matching.map((p) => p.id) }
}
