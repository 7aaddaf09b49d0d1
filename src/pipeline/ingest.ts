/**
 * HTTP ingest: the pipeline steps for a request's events, a per-event answer, and the hand-off to
 * storage (embedded mode; the Kafka hand-off is transport/ingest-target.ts).
 */
import type { AliasLookup } from '../events/resource.js'
import type { AuditEvent } from '../events/schema.js'
import type { EventRow } from '../events/event-row.js'
import { processPayload, processValue, type ProcessResult } from './process.js'
import { toRejectedRow, type RejectedRow } from '../events/rejected-row.js'
import type { EventSink } from './sink.js'

/**
 * One event of a request: its bytes as received (HTTP ingest: decoded here, by the rule Kafka
 * messages follow), an NDJSON line, or a value already decoded (in-process callers). `index`: its
 * position in the request (array index or NDJSON line), by default its position in `items`.
 */
export type IngestItem = ({ payload: Uint8Array } | { line: string } | { value: unknown }) & {
  index?: number
}

/**
 * The answer for one event. `duplicate`: valid, but an event with its tenant and event_id is
 * already stored (or came earlier in the same write), so it was not stored again: a retry of an
 * event that was stored, or another event under an id already used.
 */
export type IngestResult =
  | { index: number; status: 'accepted' | 'duplicate'; event_id: string }
  | { index: number; status: 'rejected'; reasons: string[]; event_id?: string }

export interface Accepted {
  event: AuditEvent
  row: EventRow
}
export interface Rejected {
  row: RejectedRow
  payload: Uint8Array | string
}

/** What a target tells of a write: the accepted events (indexes into `accepted`) already stored. */
export interface IngestWritten {
  duplicates: readonly number[]
}

/** Where accepted and rejected events go. */
export interface IngestTarget {
  /** true when `write` stores the events itself (not when a consumer stores them later) */
  readonly stores?: boolean
  write(accepted: readonly Accepted[], rejected: readonly Rejected[]): Promise<IngestWritten | void>
}

export function sinkTarget(
  sink: EventSink,
  detector?: { process(rows: readonly EventRow[]): Promise<void> },
): IngestTarget {
  return {
    stores: true,
    async write(accepted, rejected) {
      const rows = accepted.map((a) => a.row)
      const written = await sink.write({ rows, rejected: rejected.map((r) => r.row) })
      if (detector && rows.length > 0) await detector.process(rows)
      return { duplicates: written.duplicateLines }
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

/**
 * Each item answered on its own: a per-item refusal whatever the item holds (a step that throws on
 * one is a refusal of that one), and the valid neighbours written.
 */
export async function ingest(
  items: readonly IngestItem[],
  ctx: IngestContext,
  target: IngestTarget,
): Promise<IngestResult[]> {
  const accepted: Accepted[] = []
  const acceptedAt: number[] = []
  const rejected: Rejected[] = []
  const results: IngestResult[] = []
  items.forEach((item, position) => {
    const index = item.index ?? position
    const result = processItem(item, ctx)
    if (result.kind === 'ok') {
      accepted.push({ event: result.event, row: result.row })
      acceptedAt.push(results.length)
      results.push({ index, status: 'accepted', event_id: result.event.event_id })
      return
    }
    const payload = 'payload' in item ? item.payload : 'line' in item ? item.line : kept(item.value)
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
  const written = await target.write(accepted, rejected)
  for (const i of written?.duplicates ?? []) {
    const at = acceptedAt[i]
    if (at !== undefined) results[at]!.status = 'duplicate'
  }
  return results
}

function processItem(item: IngestItem, ctx: IngestContext): ProcessResult {
  try {
    if ('payload' in item) return processPayload(item.payload, ctx)
    return 'line' in item ? processPayload(item.line, ctx) : processValue(item.value, ctx)
  } catch (err) {
    // The steps never throw on data they were written for; one that does refuses only this item.
    const what = err instanceof Error ? err.name : typeof err
    return { kind: 'dlq', reasons: [`could not be validated (internal error: ${what})`] }
  }
}

/** Deeper than this, a refused value is not kept as JSON (JSON.stringify recurses per level). */
export const MAX_KEPT_DEPTH = 64

/**
 * A refused in-process value as the JSON kept for triage, or a note of why it is not kept: never
 * a recursion as deep as the value (JSON.stringify and String() of a deep array overflow the
 * stack), never a throw (a cycle, a BigInt, a getter that throws, an object without prototype).
 */
export function kept(value: unknown): string {
  try {
    if (deeperThan(value, MAX_KEPT_DEPTH))
      return `(not kept: nested deeper than ${MAX_KEPT_DEPTH} levels)`
    return JSON.stringify(value) ?? `(not kept: ${typeof value} is not JSON)`
  } catch (err) {
    return `(not kept: not JSON: ${err instanceof Error ? err.name : typeof err})`
  }
}

/** Whether objects and arrays nest deeper than `limit` in `value`, looked at without recursion. */
function deeperThan(value: unknown, limit: number): boolean {
  const seen = new Set<object>()
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (v === null || typeof v !== 'object' || seen.has(v)) continue
    if (depth >= limit) return true
    seen.add(v)
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1])
  }
  return false
}
