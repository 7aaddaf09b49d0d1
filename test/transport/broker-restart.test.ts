import { spawnSync } from 'node:child_process'
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logger.js'
import { Metrics, pipelineMetrics } from '../../src/metrics.js'
import { createClickHouseSink } from '../../src/pipeline/sink.js'
import { migrate } from '../../src/storage/migrate.js'
import { Chainer } from '../../src/integrity/chainer.js'
import { startCheckpointer, trustedKeys } from '../../src/integrity/checkpoint.js'
import { verifyIntegrity } from '../../src/integrity/verify.js'
import { createIntegrityStore } from '../../src/storage/integrity-store.js'
import { startConsumer } from '../../src/transport/consumer.js'
import { presentedEvent } from '../helpers/events.js'
import { committed, createTopic, pipelineKafka, testKafka, until } from '../helpers/kafka.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

// A broker of this test's own on another port, so restarting it never disturbs the shared one.
const PORT = 19092
const BROKERS = [`127.0.0.1:${PORT}`]
const SCRIPT = fileURLToPath(new URL('../../scripts/kafka.mjs', import.meta.url))
const storage = testStorage('restart_it')

function kafkaScript(command: 'start' | 'stop') {
  const result = spawnSync(process.execPath, [SCRIPT, command], {
    env: { ...process.env, AUDTRAIL_KAFKA_PORT: String(PORT) },
    encoding: 'utf8',
  })
  if (result.status !== 0)
    throw new Error(`kafka ${command} failed: ${result.stdout}${result.stderr}`)
}

beforeAll(async () => {
  kafkaScript('start')
  await migrate(storage, { retention: RETENTION })
}, 180_000)
afterAll(async () => {
  kafkaScript('stop')
  await closeTestStorages()
}, 60_000)

describe('a broker restart in the middle of ingest', () => {
  it('loses nothing: every acknowledged event is stored once', async () => {
    const kafka = testKafka(BROKERS)
    const topic = await createTopic(kafka, 3)
    const dlqTopic = await createTopic(kafka, 1, 'audtrail.test.dlq')
    const groupId = `restart-${randomUUID()}`
    // The events are chained and checkpointed as `audtrail consume` does (docs/integrity.md).
    const key = generateKeyPairSync('ed25519').privateKey
    const chainer = new Chainer('wrestart')
    const store = createIntegrityStore(storage)
    const checkpointer = startCheckpointer({
      chainer,
      key,
      everyEvents: 5_000,
      store: (tenant, c) =>
        store.writeCheckpoint(tenant, {
          writer: c.checkpoint.writer,
          seq: c.checkpoint.seq,
          issued_at: c.checkpoint.issued_at,
          jws: c.jws,
        }),
    })
    const consumer = await startConsumer({
      kafka: pipelineKafka(BROKERS),
      topic,
      dlqTopic,
      groupId,
      sink: createClickHouseSink(storage, { integrity: { chainer, checkpointer } }),
      metrics: pipelineMetrics(new Metrics()),
      logger: createLogger('silent'),
      retentionDays: 400,
    })

    const ids = new Set<string>()
    let restarted = false
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      retry: { retries: 2 },
    })
    await producer.connect()
    let sent = 0
    for (let round = 0; round < 40; round++) {
      const events = Array.from({ length: 500 }, () => presentedEvent({ tenant: 'restart-test' }))
      // At-least-once production: a send that failed while the broker was down is sent again.
      for (;;) {
        try {
          await producer.send({
            topic,
            acks: -1,
            messages: events.map((e) => ({ value: JSON.stringify(e) })),
          })
          break
        } catch {
          await new Promise((r) => setTimeout(r, 500))
        }
      }
      for (const e of events) ids.add(e.event_id as string)
      sent += events.length
      if (round === 15) {
        kafkaScript('stop')
        await new Promise((r) => setTimeout(r, 2000))
        kafkaScript('start')
        restarted = true
      }
    }
    await producer.disconnect()
    expect(restarted).toBe(true)

    await until(
      async () => {
        const rs = await storage.client.query({
          query: "SELECT count() c FROM restart_it.events FINAL WHERE tenant = 'restart-test'",
          format: 'JSONEachRow',
        })
        return Number((await rs.json<{ c: string }>())[0]!.c) >= ids.size
      },
      'every event stored',
      240_000,
    )
    await until(
      async () => (await committed(kafka, groupId, topic)) >= sent,
      'offsets committed',
      60_000,
    )
    await consumer.stop()

    const rs = await storage.client.query({
      query: `SELECT count() AS c, uniqExact(event_id) AS u FROM restart_it.events FINAL WHERE tenant = 'restart-test'`,
      format: 'JSONEachRow',
    })
    expect((await rs.json())[0]).toEqual({ c: ids.size, u: ids.size })
    // The chains verify clean and hold every event once, all of it signed.
    await checkpointer.close()
    const report = await verifyIntegrity(store, 'restart-test', {
      keys: await trustedKeys([key]),
      pageSize: 50_000,
    })
    expect(report.issues).toEqual([])
    expect(report.chains.reduce((sum, c) => sum + c.attested, 0)).toBe(ids.size)
  }, 600_000)
})
