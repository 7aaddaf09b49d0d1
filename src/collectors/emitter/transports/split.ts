/** Bisect a batch the peer refuses as a whole, so one bad or oversized event cannot block the rest. */
import type { AttemptResult, OutboundEvent, Rejection } from './types.js'

/**
 * Sends `batch` with `attempt`; when the peer refuses it as a whole (HTTP 400/413/422 without
 * per-event results, Kafka MESSAGE_TOO_LARGE), sends each half on its own, down to single events,
 * which are then rejected permanently. Retriable failures propagate as thrown errors.
 */
export async function sendBisecting(
  batch: readonly OutboundEvent[],
  attempt: (part: readonly OutboundEvent[]) => Promise<AttemptResult>,
  offset = 0,
): Promise<Rejection[]> {
  if (batch.length === 0) return []
  const result = await attempt(batch)
  if (result.status === 'sent')
    return (result.rejected ?? []).map((r) => ({ index: r.index + offset, reason: r.reason }))
  if (batch.length === 1) return [{ index: offset, reason: result.reason }]
  const mid = Math.ceil(batch.length / 2)
  const left = await sendBisecting(batch.slice(0, mid), attempt, offset)
  const right = await sendBisecting(batch.slice(mid), attempt, offset + mid)
  return [...left, ...right]
}

/** Splits `batch` into consecutive chunks of at most `maxBytes` of JSON (at least one event each). */
export function chunkByBytes(batch: readonly OutboundEvent[], maxBytes: number): OutboundEvent[][] {
  const chunks: OutboundEvent[][] = []
  let current: OutboundEvent[] = []
  let bytes = 0
  for (const item of batch) {
    const size = Buffer.byteLength(item.json)
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current)
      current = []
      bytes = 0
    }
    current.push(item)
    bytes += size
  }
  if (current.length > 0) chunks.push(current)
  return chunks
}
