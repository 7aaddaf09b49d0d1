/**
 * HTTP ingest: the pipeline steps for a request's events, a per-event answer, and the hand-off to
 * storage (embedded mode) or to the Kafka topic (when Kafka is the transport).
 */
import type { Producer } from 'kafkajs'
import type { AliasLookup } from '../events/resource.js'
import type { AuditEvent } from '../events/schema.js'
import { tokenKey } from '../events/token-key.js'
import type { EventRow } from '../storage/event-row.js'
import { dlqMessage, DLQ_TOPIC, sendAll } from '../transport/kafka.js'
import { processPayload, processValue } from './process.js'
import { toRejectedRow, type RejectedRow } from './rejected-row.js'
import type { EventSink } from './sink.js'

export type IngestItem = { value: unknown } | { line: string }

export type IngestResult =
  | { index: number; status: 'accepted'; event_id: string }
  | { index: number; status: 'rejected'; reasons: string[]; event_id?: string }

export interface Accepted {
  event: AuditEvent
  row: EventRow
}
export interface Rejected {
  row: RejectedRow
  payload: string
}

/** Where accepted and rejected events go. */
export interface IngestTarget {
  write(accepted: readonly Accepted[], rejected: readonly Rejected[]): Promise<void>
}

export function sinkTarget(
  sink: EventSink,
  detector?: { process(rows: readonly EventRow[]): Promise<void> },
): IngestTarget {
  return {
    async write(accepted, rejected) {
      const rows = accepted.map((a) => a.row)
      await sink.write({ rows, rejected: rejected.map((r) => r.row) })
      if (detector && rows.length > 0) await detector.process(rows)
    },
  }
}

/** Valid events to the events topic (keyed by token key); rejected ones to the DLQ and storage. */
export function kafkaTarget(producer: Producer, topic: string, sink?: EventSink): IngestTarget {
  return {
    async write(accepted, rejected) {
      await sendAll(
        producer,
        topic,
        accepted.map(({ event }) => ({
          key: tokenKey(event.token)?.key ?? event.event_id,
          value: JSON.stringify(event),
        })),
      )
      if (rejected.length === 0) return
      await sendAll(
        producer,
        DLQ_TOPIC,
        rejected.map((r) => dlqMessage(r.payload, r.row)),
      )
      if (sink) await sink.write({ rows: [], rejected: rejected.map((r) => r.row) })
    },
  }
}

export interface IngestContext {
  requestId: string
  receivedAt: number
  retentionDays: number
  /** The caller's tenant; undefined in open mode. */
  tenant?: string
  aliases?: AliasLookup
}

export async function ingest(
  items: readonly IngestItem[],
  ctx: IngestContext,
  target: IngestTarget,
): Promise<IngestResult[]> {
  const accepted: Accepted[] = []
  const rejected: Rejected[] = []
  const results: IngestResult[] = []
  items.forEach((item, index) => {
    const result = 'line' in item ? processPayload(item.line, ctx) : processValue(item.value, ctx)
    if (result.kind === 'ok') {
      accepted.push({ event: result.event, row: result.row })
      results.push({ index, status: 'accepted', event_id: result.event.event_id })
      return
    }
    const payload = 'line' in item ? item.line : safeStringify(item.value)
    const row = toRejectedRow({
      ...result,
      tenant: ctx.tenant ?? result.tenant,
      transport: 'http',
      sourceRef: `http/${ctx.requestId}/${index}`,
      payload,
      receivedAt: ctx.receivedAt,
    })
    rejected.push({ row, payload })
    results.push({ index, status: 'rejected', reasons: result.reasons, event_id: result.eventId })
  })
  await target.write(accepted, rejected)
  return results
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
