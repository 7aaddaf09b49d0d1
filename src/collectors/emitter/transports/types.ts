/** The transport interface behind the emitter: send one batch, report per-event rejections. */
import type { AuditEvent } from '../../../events/schema.js'

/** One validated event with its JSON serialization (computed once, reused by every transport). */
export interface OutboundEvent {
  readonly event: AuditEvent
  readonly json: string
}

/** A permanent, per-event refusal: the event is counted as `rejected` and never retried. */
export interface Rejection {
  /** index into the batch handed to `send` */
  index: number
  reason: string
}

/**
 * `send` resolves when the batch is durably accepted, except for the `rejected` events; it
 * rejects (or throws) when the outcome is unknown or the peer is unavailable: the whole batch is
 * then retried later, so a peer must tolerate duplicates (events carry `event_id` for that).
 */
export interface Transport {
  readonly name: string
  send(batch: readonly OutboundEvent[]): Promise<{ rejected?: readonly Rejection[] } | void>
  close(): Promise<void>
}

/** What a single attempt at sending a sub-batch concluded. */
export type AttemptResult =
  | { status: 'sent'; rejected?: readonly Rejection[] }
  /** the peer refused the whole sub-batch for a reason tied to its content (size, a bad event) */
  | { status: 'refused'; reason: string }
