/** A refused payload as a `rejected_events` row: reasons, where it came from, the capped payload. */
import { createHash } from 'node:crypto'
import { withoutRawJwts } from '../events/raw-token.js'
import { toDateTime64 } from '../events/event-row.js'

/** Stored payloads are capped: enough to triage, never a way to fill the disk. */
export const MAX_STORED_PAYLOAD_BYTES = 65_536

export interface RejectedRow {
  tenant: string
  rejection_id: string
  received_at: string
  transport: 'kafka' | 'http'
  source_ref: string
  reasons: string[]
  event_id: string
  event_type: string
  payload: string
  payload_bytes: number
  payload_truncated: boolean
  payload_sha256: string
}

export interface RejectionInput {
  transport: 'kafka' | 'http'
  /** Where the payload came from: `topic/partition/offset`, or `http/<request id>/<index>`. */
  sourceRef: string
  payload: Uint8Array | string
  reasons: string[]
  receivedAt: number
  tenant?: string
  eventId?: string
  eventType?: string
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Kept instead of a payload whose raw JWTs could not be cut out (see withoutPayloadJwts). */
export const PAYLOAD_NOT_KEPT = '(not kept: its raw JWTs could not be cut out)'

/**
 * `bytes` without raw JWTs (withoutRawJwts), for every payload and key a refusal keeps (stored
 * rows, DLQ messages). A payload that cannot be cleaned is not kept at all: one nested thousands
 * of levels deep with a token in it overflows the stack of the JSON.stringify that writes it
 * again, and that throw would otherwise fail its whole batch (and its neighbours, or a Kafka
 * partition read again and again).
 */
export function withoutPayloadJwts(bytes: Buffer): Buffer {
  try {
    return withoutRawJwts(bytes)
  } catch {
    return Buffer.from(PAYLOAD_NOT_KEPT)
  }
}

/**
 * The payload is kept as text when it is UTF-8 and as `base64:`-prefixed text otherwise, with
 * every raw JWT in it replaced (see raw-token.ts); it is an opaque string to storage and the
 * API, never parsed again. `payload_bytes` and `payload_sha256` are those of the payload as
 * received. rejection_id is derived from the source, so a redelivered rejection collapses into
 * one row.
 */
export function toRejectedRow(input: RejectionInput): RejectedRow {
  const bytes =
    typeof input.payload === 'string'
      ? Buffer.from(input.payload, 'utf8')
      : Buffer.from(input.payload)
  // Kept without its raw JWTs; its size and hash are those of the payload as received.
  const kept = withoutPayloadJwts(bytes)
  const capped = kept.subarray(0, MAX_STORED_PAYLOAD_BYTES)
  let payload: string
  try {
    payload = utf8.decode(capped)
  } catch {
    // Invalid UTF-8, or a multi-byte character cut by the cap: keep the exact bytes.
    payload = `base64:${capped.toString('base64')}`
  }
  return {
    tenant: input.tenant ?? 'default',
    rejection_id: createHash('sha256')
      .update(`${input.transport}:${input.sourceRef}`)
      .digest('hex'),
    received_at: toDateTime64(input.receivedAt),
    transport: input.transport,
    source_ref: input.sourceRef,
    reasons: input.reasons.map((r) => r.slice(0, 1000)),
    event_id: input.eventId ?? '',
    event_type: input.eventType ?? '',
    payload,
    payload_bytes: bytes.byteLength,
    payload_truncated: kept.byteLength > capped.byteLength,
    payload_sha256: createHash('sha256').update(bytes).digest('hex'),
  }
}
