/**
 * A chunk of Kafka messages through the pipeline: the valid ones validated, enriched and encoded
 * for the insert, and evaluated by the event rules; for the others their `rejected_events` rows.
 * This part is pure (it runs in the consumer's validation worker, see chunk-validator.ts); the
 * DLQ messages are built where the original messages are.
 */
import type { RuleDetections, RuleEvaluator } from '../detection/engine.js'
import type { AliasLookup } from '../events/resource.js'
import { EncodedEventsBuilder, type EncodedEvents } from '../storage/events-store.js'
import { processPayload } from './process.js'
import { toRejectedRow, type RejectedRow } from './rejected-row.js'

/** The messages of a chunk, packed for a worker: one buffer, moved without a copy. */
export interface ChunkInput {
  topic: string
  partition: number
  /** The message values back to back (a missing value is empty). */
  payloads: Uint8Array
  /** Where each value starts in `payloads`, then its length (one more entry than messages). */
  bounds: Uint32Array
  /** Each message's offset (the source reference of a rejection). */
  offsets: string[]
  receivedAt: number
}

export interface ValidatedChunk {
  events: EncodedEvents
  /** Rejected messages: their index in the chunk and their rejected_events row. */
  rejected: { index: number; row: RejectedRow }[]
  /** What the event rules found in the valid events (none without an evaluator). */
  detections: RuleDetections
}

export interface ValidationContext {
  retentionDays: number
  aliases?: AliasLookup
  /** Evaluates the valid events in message order, before they are stored. */
  evaluator?: RuleEvaluator
}

/** Pack message values for validateChunk. */
export function packMessages(
  values: readonly (Uint8Array | null)[],
): Pick<ChunkInput, 'payloads' | 'bounds'> {
  const bounds = new Uint32Array(values.length + 1)
  let total = 0
  for (let i = 0; i < values.length; i++) {
    bounds[i] = total
    total += values[i]?.byteLength ?? 0
  }
  bounds[values.length] = total
  // Its own ArrayBuffer (a Buffer may share a pooled one), so that it can be transferred.
  const payloads = new Uint8Array(total)
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    if (v) payloads.set(v, bounds[i])
  }
  return { payloads, bounds }
}

/**
 * Each valid event is evaluated and encoded as soon as it is validated, and its row dropped: rows
 * kept for the whole chunk lived through collections and cost more than the work itself.
 */
export function validateChunk(input: ChunkInput, ctx: ValidationContext): ValidatedChunk {
  const rejected: ValidatedChunk['rejected'] = []
  const process = {
    receivedAt: input.receivedAt,
    retentionDays: ctx.retentionDays,
    aliases: ctx.aliases,
  }
  const { payloads, bounds } = input
  // Encoded lines run about 1.5 times their payload.
  const events = new EncodedEventsBuilder(payloads.byteLength * 1.5)
  const rules = ctx.evaluator?.begin()
  for (let i = 0; i + 1 < bounds.length; i++) {
    const payload = payloads.subarray(bounds[i], bounds[i + 1])
    const result = processPayload(payload, process)
    if (result.kind === 'ok') {
      rules?.add(result.row)
      events.add(result.row)
      continue
    }
    rejected.push({
      index: i,
      row: toRejectedRow({
        ...result,
        transport: 'kafka',
        sourceRef: `${input.topic}/${input.partition}/${input.offsets[i]}`,
        payload,
        receivedAt: input.receivedAt,
      }),
    })
  }
  return { events: events.finish(), rejected, detections: rules?.done() ?? [] }
}
