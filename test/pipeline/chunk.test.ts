import type { KafkaMessage } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { toChunk } from '../../src/pipeline/chunk.js'
import { evenChunks } from '../../src/transport/consumer.js'
import { presentedEvent } from '../helpers/events.js'

const message = (value: Buffer | null, offset: number): KafkaMessage =>
  ({
    key: null,
    value,
    offset: String(offset),
    timestamp: '0',
    attributes: 0,
    headers: {},
  }) as KafkaMessage

describe('a chunk of Kafka messages', () => {
  it('keeps the valid events in order and sends every other message to the DLQ with its offset', async () => {
    const messages: KafkaMessage[] = []
    const valid: string[] = []
    for (let i = 0; i < 700; i++) {
      if (i % 7 === 3) {
        messages.push(message(Buffer.from(i % 2 ? '{"event_type":1' : '\u0000\u0001'), i))
        continue
      }
      const event = presentedEvent()
      valid.push(String(event.event_id))
      messages.push(message(Buffer.from(JSON.stringify(event)), i))
    }
    messages.push(message(null, 700))
    const chunk = await toChunk(messages, { topic: 't', partition: 4, retentionDays: 400 })
    expect(chunk.rows.map((r) => r.event_id)).toEqual(valid)
    expect(chunk.rejected).toHaveLength(101)
    expect(chunk.dlq).toHaveLength(101)
    expect(chunk.rejected.map((r) => r.source_ref)).toContain('t/4/3')
    expect(chunk.rejected.map((r) => r.source_ref)).toContain('t/4/700')
  })
})

describe('evenChunks', () => {
  it.each([
    [0, 10_000, 1],
    [1, 10_000, 1],
    [10_000, 10_000, 10_000],
    [10_001, 10_000, 5001],
    [25_000, 10_000, 8334],
    [7, 0, 1],
  ])('splits %i messages of at most %i per write into chunks of %i', (total, max, size) => {
    expect(evenChunks(total, max)).toBe(size)
  })
})
