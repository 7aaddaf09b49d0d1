/**
 * A chunk of Kafka messages through the pipeline: the `events` rows of the valid ones, and for
 * the others their `rejected_events` rows and DLQ messages.
 */
import type { KafkaMessage } from 'kafkajs'
import type { AliasLookup } from '../events/resource.js'
import type { EventRow } from '../storage/event-row.js'
import { dlqMessage, type OutgoingMessage } from '../transport/kafka.js'
import { processPayload } from './process.js'
import { toRejectedRow, type RejectedRow } from './rejected-row.js'

export interface Chunk {
  rows: EventRow[]
  rejected: RejectedRow[]
  dlq: OutgoingMessage[]
}

export interface ChunkContext {
  topic: string
  partition: number
  retentionDays: number
  aliases?: AliasLookup
}

/**
 * Messages validated between two yields to the event loop: the previous chunk's insert completes
 * on a native thread, and its continuation (the next insert) should not wait for a whole chunk.
 */
const SLICE = 250

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

export async function toChunk(
  messages: readonly KafkaMessage[],
  ctx: ChunkContext,
): Promise<Chunk> {
  const chunk: Chunk = { rows: [], rejected: [], dlq: [] }
  const receivedAt = Date.now()
  const process = { receivedAt, retentionDays: ctx.retentionDays, aliases: ctx.aliases }
  for (let i = 0; i < messages.length; i++) {
    if (i > 0 && i % SLICE === 0) await yieldToLoop()
    const m = messages[i]!
    const payload = m.value ?? Buffer.alloc(0)
    const result = processPayload(payload, process)
    if (result.kind === 'ok') {
      chunk.rows.push(result.row)
      continue
    }
    const rejected = toRejectedRow({
      ...result,
      transport: 'kafka',
      sourceRef: `${ctx.topic}/${ctx.partition}/${m.offset}`,
      payload,
      receivedAt,
    })
    chunk.rejected.push(rejected)
    chunk.dlq.push(dlqMessage(m.value, rejected, m.key))
  }
  return chunk
}
