import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, describe, expect, it } from 'vitest'
import { createEmitter, DEFAULT_TOPIC } from '../../src/collectors/emitter/index.js'
import { parseEvent, tokenKey, type AuditEvent } from '../../src/events/index.js'
import { captureLogs, presented, until } from './fixtures.js'
import { PrivateKafka } from './private-kafka.js'

const shared = (process.env.AUDTRAIL_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
const cleanups: (() => Promise<unknown>)[] = []

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
})

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'audtrail-kafka-spool-'))
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function createTopic(brokers: string[]): Promise<string> {
  const topic = `audtrail.test.${randomUUID()}`
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  await admin.createTopics({
    topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
    waitForLeaders: true,
  })
  await admin.disconnect()
  cleanups.push(async () => {
    const a = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin()
    await a.connect()
    await a.deleteTopics({ topics: [topic] }).finally(() => a.disconnect())
  })
  return topic
}

/** Reads the topic from the beginning until `count` distinct event_ids arrived; in partition order. */
async function consume(brokers: string[], topic: string, count: number) {
  const consumer = new Kafka({ brokers, logLevel: logLevel.NOTHING }).consumer({
    groupId: `audtrail-test-${randomUUID()}`,
  })
  const messages: { key: string; partition: number; event: AuditEvent }[] = []
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      const result = parseEvent(JSON.parse(message.value!.toString('utf8')))
      if (!result.ok) throw new Error(result.reasons.join('; '))
      messages.push({ key: message.key!.toString('utf8'), partition, event: result.event })
    },
  })
  await until(() => new Set(messages.map((m) => m.event.event_id)).size >= count, 'consumed events')
  await consumer.disconnect()
  return messages
}

describe('the kafka transport', () => {
  it('produces each event keyed by its token key, with the event JSON as the value', async () => {
    expect(DEFAULT_TOPIC).toBe('audtrail.events.v1')
    const topic = await createTopic(shared)
    const emitter = createEmitter({ transport: { type: 'kafka', brokers: shared, topic } })
    const fingerprintOnly = { ...presented(2), token: { fingerprint: 'f'.repeat(43) } }
    const noToken = {
      ...presented(3),
      token: undefined,
      decision: 'rejected',
      reason: 'missing_token',
      presented_aud: [],
    }
    const input = [presented(1, 'jti-abc'), fingerprintOnly, noToken].map((e) => {
      const r = parseEvent(structuredClone(e))
      if (!r.ok) throw new Error(r.reasons.join('; '))
      return r.event
    })
    for (const e of input) emitter.emit(e)
    await emitter.close()
    expect(emitter.stats()).toMatchObject({ sent: 3, failures: 0, dropped: 0 })
    const got = await consume(shared, topic, 3)
    const byId = new Map(got.map((m) => [m.event.event_id, m]))
    for (const e of input) {
      expect(byId.get(e.event_id)?.event).toEqual(e)
      expect(byId.get(e.event_id)?.key).toBe(tokenKey(e.token)?.key ?? e.event_id)
    }
    expect(byId.get(input[0]!.event_id)?.key).toBe('jti-abc')
    expect(byId.get(input[1]!.event_id)?.key).toBe('f'.repeat(43))
    expect(byId.get(input[2]!.event_id)?.key).toBe(input[2]!.event_id)
  })

  it('detects a broker that is not there, spools the batch, and never throws from emit', async () => {
    const dir = tempDir()
    const { logger, lines } = captureLogs()
    const emitter = createEmitter({
      transport: { type: 'kafka', brokers: ['127.0.0.1:1'] },
      spoolDir: dir,
      logger,
      closeTimeoutMs: 20_000,
    })
    expect(() => emitter.emit(presented(1))).not.toThrow()
    await emitter.flush()
    expect(emitter.stats()).toMatchObject({
      failures: 1,
      spooled: 1,
      queued: 0,
      transportUp: false,
    })
    expect(lines.some((l) => l.includes('transport unavailable'))).toBe(true)
    await emitter.close()
  })
})

describe('a Kafka outage', () => {
  it('Kafka stopped while requests flow: events spool, and after Kafka returns every event arrives (same event_ids, none missing)', async () => {
    const kafka = await PrivateKafka.create()
    cleanups.push(() => kafka.destroy())
    await kafka.start()
    const brokers = [kafka.brokers]
    const topic = await createTopic(brokers)
    const { logger } = captureLogs('info')
    const emitter = createEmitter({
      transport: { type: 'kafka', brokers, topic },
      spoolDir: tempDir(),
      logger,
      batchSize: 20,
      flushIntervalMs: 50,
      retryInitialMs: 200,
      retryMaxMs: 1_000,
      closeTimeoutMs: 30_000,
    })

    // A resource server that emits one event per request, as the collectors do.
    const emitted: AuditEvent[] = []
    let n = 0
    const server: Server = createServer((_req, res) => {
      const event = presented(n++, `jti-${n % 5}`) as AuditEvent
      emitted.push(event)
      emitter.emit(event)
      res.end('ok')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    const statuses: number[] = []
    let flowing = true
    const flow = (async () => {
      while (flowing) {
        statuses.push((await fetch(url)).status)
        await new Promise((r) => setTimeout(r, 2))
      }
    })()

    await until(() => emitter.stats().sent >= 50, 'events sent before the outage')
    await kafka.stop()
    const atStop = statuses.length
    await until(() => emitter.stats().spooled >= 50 && statuses.length >= atStop + 100, 'spooling')
    expect(emitter.stats().transportUp).toBe(false)
    await kafka.start()
    await until(() => emitter.stats().replayed >= 50, 'replay')
    const atReturn = statuses.length
    await until(() => statuses.length >= atReturn + 50, 'requests after the return')
    flowing = false
    await flow
    await emitter.close()
    await new Promise((resolve) => server.close(resolve))

    expect(statuses.every((s) => s === 200)).toBe(true)
    const stats = emitter.stats()
    expect(stats).toMatchObject({ emitted: emitted.length, dropped: 0, rejected: 0, queued: 0 })
    expect(stats.spooled).toBeGreaterThan(0)
    expect(stats.replayed).toBe(stats.spooled)
    expect(stats.failures).toBeGreaterThan(0)

    const got = await consume(brokers, topic, emitted.length)
    const arrived = new Set(got.map((m) => m.event.event_id))
    expect([...arrived].sort()).toEqual(emitted.map((e) => e.event_id).sort())
    // One token's events stay in order (first arrival of each, duplicates being allowed).
    for (const key of new Set(emitted.map((e) => e.token!.jti!))) {
      const sentOrder = emitted.filter((e) => e.token!.jti === key).map((e) => e.event_id)
      const seen = [...new Set(got.filter((m) => m.key === key).map((m) => m.event.event_id))]
      expect(seen, `order of ${key}`).toEqual(sentOrder)
    }
  }, 240_000)
})
