/**
 * One OTLP/HTTP export request, from bytes to its answer: decoded (body.ts), each record mapped
 * (map.ts), the events through the pipeline's own ingest (the answers, duplicates, raw-token
 * refusals and `rejected_events` of `/v1/ingest`), the refused records kept in `rejected_events`,
 * and the OTLP answer: a partial success counting every record not stored as an event
 * (`rejected_log_records` / `rejected_spans`) with the first reasons, in the request's encoding.
 *
 * A duplicate (a record sent again, its derived event id already stored) is not counted as
 * rejected: the exporter's retry did what it meant to.
 */
import { toRejectedRow } from '../events/rejected-row.js'
import type { IngestItem, IngestResult, Rejected } from '../pipeline/ingest.js'
import { MEDIA_TYPES, type Encoding } from './body.js'
import { jsonAnswer } from './json.js'
import { mapRecord } from './map.js'
import type { OtlpRecord, Signal } from './model.js'
import { encodeProtobufAnswer } from './wire.js'

/** Reasons named in an answer's `error_message` (the count covers them all). */
export const MAX_REASONS_IN_ANSWER = 10

export interface IntakeContext {
  requestId: string
  receivedAt: number
  tenant?: string
}

/** Where the records go: the pipeline's ingest of event values, and the keeping of refusals. */
export interface IntakeSink {
  ingest(items: IngestItem[]): Promise<IngestResult[]>
  keep(refused: Rejected[]): Promise<void>
}

export interface IntakeOutcome {
  records: number
  accepted: number
  duplicates: number
  rejected: number
  /** `where: reason` of each record not stored, in request order. */
  reasons: string[]
}

const NOUN: Record<Signal, string> = { log: 'log records', span: 'spans' }

export async function intake(
  records: readonly OtlpRecord[],
  signal: Signal,
  ctx: IntakeContext,
  sink: IntakeSink,
): Promise<IntakeOutcome> {
  const items: IngestItem[] = []
  const where: string[] = []
  const refused: Rejected[] = []
  const reasons: [number, string][] = []
  records.forEach((record, ordinal) => {
    const mapped = mapRecord(record, { tenant: ctx.tenant })
    if (mapped.kind === 'event') {
      items.push({ value: mapped.value, index: ordinal })
      where[ordinal] = record.where
      return
    }
    if (mapped.kind === 'unmatched') {
      reasons.push([ordinal, `${record.where}: ${mapped.reason}`])
      return
    }
    reasons.push([ordinal, `${record.where}: ${mapped.reasons.join('; ')}`])
    const row = toRejectedRow({
      transport: 'http',
      sourceRef: `http/${ctx.requestId}/${ordinal}`,
      payload: mapped.kept,
      reasons: mapped.reasons,
      receivedAt: ctx.receivedAt,
      tenant: ctx.tenant,
      eventType: `otlp.${signal}`,
    })
    refused.push({ row, payload: mapped.kept })
  })
  const results: IngestResult[] = items.length > 0 ? await sink.ingest(items) : []
  if (refused.length > 0) await sink.keep(refused)
  let accepted = 0
  let duplicates = 0
  for (const r of results) {
    if (r.status === 'accepted') accepted++
    else if (r.status === 'duplicate') duplicates++
    if (r.status === 'rejected')
      reasons.push([r.index, `${where[r.index]}: ${r.reasons.join('; ')}`])
  }
  reasons.sort((a, b) => a[0] - b[0])
  return {
    records: records.length,
    accepted,
    duplicates,
    rejected: reasons.length,
    reasons: reasons.map(([, r]) => r),
  }
}

/** The OTLP answer of an outcome, as bytes of the request's encoding, with its media type. */
export function answer(
  outcome: IntakeOutcome,
  signal: Signal,
  encoding: Encoding,
): { type: string; body: Buffer } {
  let message = ''
  if (outcome.rejected > 0) {
    const shown = outcome.reasons.slice(0, MAX_REASONS_IN_ANSWER).map((r) => r.slice(0, 300))
    const more = outcome.rejected - shown.length
    message =
      `${outcome.rejected} of ${outcome.records} ${NOUN[signal]} not stored as audit events ` +
      `(resource/scope/item: reason): ${shown.join(' | ')}${more > 0 ? ` | and ${more} more` : ''}`
  }
  const body =
    encoding === 'protobuf'
      ? Buffer.from(encodeProtobufAnswer(outcome.rejected, message))
      : Buffer.from(jsonAnswer(signal, outcome.rejected, message))
  return { type: MEDIA_TYPES[encoding], body }
}
