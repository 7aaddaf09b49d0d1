import { randomUUID } from 'node:crypto'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, describe, expect, it } from 'vitest'
import { parseEvent, tokenKey, type AuditEvent } from '../../src/events/index.js'
import { loadExamples } from '../helpers/examples.js'

// The broker `npm test` started (or reused): a real Apache Kafka in KRaft mode on loopback.
const brokers = (process.env.AUDTRAIL_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
const kafka = new Kafka({ clientId: 'audtrail-test', brokers, logLevel: logLevel.NOTHING })
const admin = kafka.admin()
const topic = `audtrail.test.${randomUUID()}`

afterAll(async () => {
  await admin.deleteTopics({ topics: [topic] }).catch(() => {})
  await admin.disconnect()
})

describe('a contract event through the real broker', () => {
  it('is produced keyed by token key and consumed back unchanged by a consumer group', async () => {
    await admin.connect()
    await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
      waitForLeaders: true,
    })

    const events = loadExamples('valid').map(([, e]) => {
      const result = parseEvent(structuredClone(e))
      if (!result.ok) throw new Error(result.reasons.join('; '))
      return result.event
    })
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    await producer.send({
      topic,
      acks: -1,
      messages: events.map((e) => ({
        key: tokenKey(e.token)?.key ?? e.event_id,
        value: JSON.stringify(e),
      })),
    })
    await producer.disconnect()

    const groupId = `audtrail-test-${randomUUID()}`
    const consumer = kafka.consumer({ groupId })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const received: { key: string; event: AuditEvent }[] = []
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch, resolveOffset }) => {
            for (const message of batch.messages) {
              const result = parseEvent(JSON.parse(message.value!.toString('utf8')))
              if (!result.ok) return reject(new Error(result.reasons.join('; ')))
              received.push({ key: message.key!.toString('utf8'), event: result.event })
              resolveOffset(message.offset)
            }
            // commitOffsets takes the next offset to read, literally (resolveOffset adds the 1).
            const next = String(Number(batch.lastOffset()) + 1)
            await consumer.commitOffsets([{ topic, partition: batch.partition, offset: next }])
            if (received.length >= events.length) resolve()
          },
        })
        .catch(reject)
    })
    await consumer.disconnect()

    const byId = new Map(received.map((r) => [r.event.event_id, r]))
    expect(byId.size).toBe(events.length)
    for (const event of events) {
      expect(byId.get(event.event_id)?.event).toEqual(event)
      expect(byId.get(event.event_id)?.key).toBe(tokenKey(event.token)?.key ?? event.event_id)
    }
    // The group committed exactly what it consumed: no lag on any partition.
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]))
    expect(committed!.partitions).toHaveLength(3)
    for (const { partition, offset } of committed!.partitions) {
      // A partition that received nothing has no commit (-1) and an end offset of 0.
      expect(offset === '-1' ? '0' : offset, `partition ${partition}`).toBe(ends.get(partition))
    }
  })
})
