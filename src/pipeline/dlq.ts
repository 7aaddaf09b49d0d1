/**
 * A refused payload as its dead-letter message: the bytes without raw JWTs, capped, with the
 * rejection's id, source, reasons, size and hash as headers (docs/design/pipeline.md). Formatting
 * only: the consumer and HTTP ingest send these through their Kafka producer.
 */
import { withoutPayloadJwts } from '../events/rejected-row.js'

/** A message to produce: what the DLQ and the events topic are sent. */
export interface OutgoingMessage {
  key?: string | Buffer | null
  value: string | Buffer | null
  headers?: Record<string, string>
}

/** DLQ payloads are capped like the rejected_events copy: enough to triage, never a flood. */
export const MAX_DLQ_PAYLOAD_BYTES = 65_536

export function dlqMessage(
  payload: Buffer | string | null,
  rejection: {
    rejection_id: string
    source_ref: string
    reasons: string[]
    payload_bytes: number
    payload_sha256: string
  },
  key: Buffer | string | null = null,
): OutgoingMessage {
  // Without raw JWTs, as in rejected_events; a key is the producer's, and may be a token too.
  const bytes = payload === null ? Buffer.alloc(0) : withoutPayloadJwts(Buffer.from(payload))
  return {
    key: key === null ? null : withoutPayloadJwts(Buffer.from(key)),
    value: bytes.subarray(0, MAX_DLQ_PAYLOAD_BYTES),
    headers: {
      'audtrail-rejection-id': rejection.rejection_id,
      'audtrail-source': rejection.source_ref,
      'audtrail-reasons': JSON.stringify(rejection.reasons).slice(0, 4096),
      'audtrail-payload-bytes': String(rejection.payload_bytes),
      'audtrail-payload-sha256': rejection.payload_sha256,
    },
  }
}
