import { randomUUID } from 'node:crypto'
import type { Worker } from 'node:worker_threads'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createStreamingDetector } from '../../src/detection/engine.js'
import { createFindingsStore } from '../../src/detection/findings-store.js'
import { RULES } from '../../src/detection/rules/index.js'
import { RAW_JWT_REMOVED } from '../../src/events/raw-token.js'
import { createLogger } from '../../src/logger.js'
import { Metrics, pipelineMetrics } from '../../src/metrics.js'
import { createClickHouseSink, type EventSink } from '../../src/pipeline/sink.js'
import { migrate } from '../../src/storage/migrate.js'
import { startConsumer, type ConsumerOptions } from '../../src/transport/consumer.js'
import { startChunkValidator } from '../../src/pipeline/chunk-validator.js'
import { StorageError } from '../../src/errors.js'
import { presentedEvent } from '../helpers/events.js'
import { HOSTILE_JWT_PARTS, hostileCorpus } from '../helpers/hostile.js'
import { committed, createTopic, pipelineKafka, testKafka, until } from '../helpers/kafka.js'
import { holding } from '../helpers/workers.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

const kafka = testKafka()
const storage = testStorage('consumer_it')

beforeAll(() => migrate(storage, { retention: RETENTION }))
afterAll(closeTestStorages)

async function count(sql: string, params: Record<string, unknown>): Promise<number> {
  const rs = await storage.client.query({ query: sql, query_params: params, format: 'JSONEachRow' })
  return Number((await rs.json<{ c: string }>())[0]!.c)
}

async function produce(topic: string, values: (string | Buffer)[]) {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  // One request stays under the broker's 1 MB limit: the 1 MB payloads travel alone.
  let batch: (string | Buffer)[] = []
  let bytes = 0
  const flush = async () => {
    if (batch.length > 0)
      await producer.send({ topic, acks: -1, messages: batch.map((value) => ({ value })) })
    batch = []
    bytes = 0
  }
  for (const value of values) {
    const size = Buffer.byteLength(value)
    if (bytes + size > 512 * 1024) await flush()
    batch.push(value)
    bytes += size
  }
  await flush()
  await producer.disconnect()
}

function consumer(
  topic: string,
  dlqTopic: string,
  sink: EventSink,
  groupId = `g-${randomUUID()}`,
  startValidator?: ConsumerOptions['startValidator'],
) {
  return {
    groupId,
    start: (more: Pick<ConsumerOptions, 'detector' | 'restoreStates'> = {}) =>
      startConsumer({
        ...more,
        startValidator,
        kafka: pipelineKafka(),
        topic,
        dlqTopic,
        groupId,
        sink,
        metrics: pipelineMetrics(new Metrics()),
        logger: createLogger('silent'),
        retentionDays: 400,
        maxBatchRows: 100,
      }),
  }
}

describe('the consumer on a real broker and the embedded engine', () => {
  it('sends every hostile payload to the DLQ topic and rejected_events, and stores the valid neighbours', async () => {
    const topic = await createTopic(kafka)
    const dlqTopic = await createTopic(kafka, 1, 'audtrail.test.dlq')
    const corpus = hostileCorpus()
    const valid = corpus.map(() => presentedEvent({ tenant: 'dlq-test' }))
    const values = corpus.flatMap((c, i) => [c.payload, JSON.stringify(valid[i])])
    await produce(topic, values)

    const c = consumer(topic, dlqTopic, createClickHouseSink(storage))
    const running = await c.start()
    await until(
      async () => (await committed(kafka, c.groupId, topic)) === values.length,
      'all offsets committed',
    )
    await running.stop()

    expect(
      await count("SELECT count() c FROM consumer_it.events FINAL WHERE tenant = 'dlq-test'", {}),
    ).toBe(valid.length)
    expect(
      await count(
        'SELECT count() c FROM consumer_it.rejected_events FINAL WHERE startsWith(source_ref, {t:String}) AND notEmpty(reasons)',
        { t: `${topic}/` },
      ),
    ).toBe(corpus.length)

    // No copy of a raw JWT in the corpus is kept: each is cut out of the stored payload.
    const stored = await storage.client.query({
      query:
        'SELECT payload FROM consumer_it.rejected_events FINAL WHERE startsWith(source_ref, {t:String})',
      query_params: { t: `${topic}/` },
      format: 'JSONEachRow',
    })
    const payloads = (await stored.json<{ payload: string }>()).map(({ payload }) =>
      payload.startsWith('base64:')
        ? Buffer.from(payload.slice('base64:'.length), 'base64')
        : Buffer.from(payload),
    )
    const holdsPart = (bytes: Buffer) => HOSTILE_JWT_PARTS.some((part) => bytes.includes(part))
    const withJwt = corpus.filter((c) => holdsPart(Buffer.from(c.payload))).length
    expect(withJwt).toBeGreaterThanOrEqual(14)
    expect(payloads.filter(holdsPart)).toEqual([])
    expect(payloads.filter((p) => p.includes(RAW_JWT_REMOVED))).toHaveLength(withJwt)

    const dlq: { reasons: string[]; source: string; value: Buffer }[] = []
    const reader = kafka.consumer({ groupId: `dlq-${randomUUID()}` })
    await reader.connect()
    await reader.subscribe({ topic: dlqTopic, fromBeginning: true })
    await reader.run({
      eachMessage: async ({ message }) => {
        dlq.push({
          reasons: JSON.parse(message.headers!['audtrail-reasons']!.toString()),
          source: message.headers!['audtrail-source']!.toString(),
          value: message.value ?? Buffer.alloc(0),
        })
      },
    })
    await until(async () => dlq.length >= corpus.length, 'the DLQ messages')
    await reader.disconnect()
    expect(dlq).toHaveLength(corpus.length)
    for (const m of dlq) {
      expect(m.source.startsWith(`${topic}/`)).toBe(true)
      expect(m.reasons.length).toBeGreaterThan(0)
    }
    expect(dlq.filter((m) => holdsPart(m.value))).toEqual([])
    expect(dlq.filter((m) => m.value.includes(RAW_JWT_REMOVED))).toHaveLength(withJwt)
  })

  it('rides out a ClickHouse outage of 20 s without losing or committing anything early', async () => {
    const topic = await createTopic(kafka)
    const dlqTopic = await createTopic(kafka, 1, 'audtrail.test.dlq')
    const real = createClickHouseSink(storage)
    let down = false
    let failedWrites = 0
    const flaky: EventSink = {
      async write(batch) {
        if (down) {
          failedWrites += 1
          throw new StorageError('ERR_SINK_UNAVAILABLE', 'injected outage', { retriable: true })
        }
        return real.write(batch)
      },
      ping: async () => !down,
    }
    const first = Array.from({ length: 300 }, () => presentedEvent({ tenant: 'outage-test' }))
    const second = Array.from({ length: 700 }, () => presentedEvent({ tenant: 'outage-test' }))
    const c = consumer(topic, dlqTopic, flaky)
    const running = await c.start()
    await produce(
      topic,
      first.map((e) => JSON.stringify(e)),
    )
    await until(
      async () => (await committed(kafka, c.groupId, topic)) === first.length,
      'the first part',
    )

    down = true
    await produce(
      topic,
      second.map((e) => JSON.stringify(e)),
    )
    const outageEnds = Date.now() + 20_000
    while (Date.now() < outageEnds) {
      // Nothing past the outage may be committed while ClickHouse is down.
      expect(await committed(kafka, c.groupId, topic)).toBe(first.length)
      await new Promise((r) => setTimeout(r, 1000))
    }
    expect(failedWrites).toBeGreaterThan(1)
    down = false

    const total = first.length + second.length
    await until(async () => (await committed(kafka, c.groupId, topic)) === total, 'recovery')
    await running.stop()
    expect(
      await count(
        "SELECT count() c FROM consumer_it.events FINAL WHERE tenant = 'outage-test'",
        {},
      ),
    ).toBe(total)
    expect(
      await count("SELECT count() c FROM consumer_it.events WHERE tenant = 'outage-test'", {}),
    ).toBe(total)
  }, 120_000)

  /** Topics with `n` valid events of `tenant` produced, and the check that each is stored once. */
  async function ingestCase(tenant: string, n: number) {
    const topic = await createTopic(kafka)
    const dlqTopic = await createTopic(kafka, 1, 'audtrail.test.dlq')
    const events = Array.from({ length: n }, () => JSON.stringify(presentedEvent({ tenant })))
    await produce(topic, events)
    const where = `FROM consumer_it.events WHERE tenant = '${tenant}'`
    const storedOnce = async () => {
      expect(await count(`SELECT uniqExact(event_id) c ${where}`, {})).toBe(n)
      expect(await count(`SELECT count() c ${where}`, {})).toBe(n)
    }
    return { topic, dlqTopic, events, where, storedOnce }
  }

  it('stores each event once across two rebalances: a second member joins mid-ingest, then leaves', async () => {
    const { topic, dlqTopic, events, storedOnce } = await ingestCase('rebalance-test', 12_000)
    const sink = createClickHouseSink(storage)
    const a = consumer(topic, dlqTopic, sink)
    const first = await a.start()
    await until(async () => (await committed(kafka, a.groupId, topic)) > 0, 'a first commit')
    // Chunks of the first member are queued and in flight while its partitions move.
    const second = await consumer(topic, dlqTopic, sink, a.groupId).start()
    await until(
      async () => (await committed(kafka, a.groupId, topic)) >= events.length / 2,
      'half of the events, with two members',
    )
    await second.stop()
    await until(
      async () => (await committed(kafka, a.groupId, topic)) === events.length,
      'every offset committed',
    )
    await first.stop()
    await storedOnce()
    // Rollups count every insert: two members writing the same events would show here.
    expect(
      await count(
        "SELECT sum(events) c FROM consumer_it.client_usage_daily WHERE tenant = 'rebalance-test'",
        {},
      ),
    ).toBe(events.length)
  }, 180_000)

  it('reads a chunk again when its validation fails (the worker died) and stores each event once', async () => {
    const { topic, dlqTopic, events, storedOnce } = await ingestCase('revalidate-test', 3_000)
    let calls = 0
    let failed = false
    // The real worker, but the third chunk's validation fails as when the worker exits under it
    // (chunks are sent on before the ones ahead of them are validated, so it is queued already).
    const failingThird: ConsumerOptions['startValidator'] = (options) => {
      const real = startChunkValidator(options)
      return {
        toChunk: (messages, t, partition, wanted) => {
          if (++calls !== 3) return real.toChunk(messages, t, partition, wanted)
          failed = true
          return Promise.reject(new Error('validation worker exited (code 1)'))
        },
        refuseWaiting: () => real.refuseWaiting(),
        close: () => real.close(),
      }
    }
    const c = consumer(topic, dlqTopic, createClickHouseSink(storage), undefined, failingThird)
    const running = await c.start()
    await until(
      async () => (await committed(kafka, c.groupId, topic)) === events.length,
      'every offset committed',
    )
    await running.stop()
    // 3 000 events in chunks of at most 100: 30 chunks or more, and the failed one again.
    expect(failed).toBe(true)
    expect(calls).toBeGreaterThanOrEqual(31)
    await storedOnce()
  }, 180_000)

  it('gives a worker that replaces a dead one the token state stored by the writes before the death: a replay across it is found', async () => {
    const topic = await createTopic(kafka)
    const dlqTopic = await createTopic(kafka, 1, 'audtrail.test.dlq')
    const tenant = 'worker-death-test'
    const token = { jti: `at-${randomUUID()}`, aud: ['https://a.example.com/'] }
    const at = (resource: string) =>
      presentedEvent({ tenant, token, resource, presented_aud: token.aud })
    const detector = createStreamingDetector({
      rules: RULES,
      store: createFindingsStore(storage),
      logger: createLogger('silent'),
    })
    // The first write is held until the worker that validated it has died.
    const real = createClickHouseSink(storage)
    const order: string[] = []
    let release = () => {}
    let writing = () => {}
    const firstWrite = new Promise<void>((resolve) => (writing = resolve))
    let writes = 0
    const held: EventSink = {
      async write(batch) {
        if (++writes > 1) return real.write(batch)
        writing()
        await new Promise<void>((resolve) => (release = resolve))
        const result = await real.write(batch)
        order.push('first write')
        return result
      },
      ping: () => real.ping(),
    }
    const workers: Worker[] = []
    const c = consumer(topic, dlqTopic, held, undefined, (options) =>
      startChunkValidator(options, holding(workers)),
    )
    const running = await c.start({
      detector,
      restoreStates: () => {
        order.push('restore')
        return detector.storedStates(storage, 3600)
      },
    })
    try {
      // Presented where it belongs; validated, and its write held while the worker dies.
      await produce(topic, [JSON.stringify(at('https://a.example.com/'))])
      await firstWrite
      await workers[0]!.terminate()
      release()
      await until(async () => (await committed(kafka, c.groupId, topic)) === 1, 'the first event')
      // The same token at another resource, read by the new worker.
      await produce(topic, [JSON.stringify(at('https://b.example.com/'))])
      await until(async () => (await committed(kafka, c.groupId, topic)) === 2, 'the second event')
    } finally {
      await running.stop()
    }
    expect(workers).toHaveLength(2)
    expect(order).toEqual(['first write', 'restore'])
    expect(
      await count(
        "SELECT count() c FROM consumer_it.findings FINAL WHERE tenant = {t:String} AND rule_id = 'cross-audience-replay'",
        { t: tenant },
      ),
    ).toBe(1)
  }, 180_000)

  it('stops without waiting for the restore of a replacement worker, leaving the waiting chunk unread', async () => {
    const topic = await createTopic(kafka)
    const dlqTopic = await createTopic(kafka, 1, 'audtrail.test.dlq')
    const detector = createStreamingDetector({
      rules: RULES,
      store: createFindingsStore(storage),
      logger: createLogger('silent'),
    })
    const workers: Worker[] = []
    let chunks = 0
    const c = consumer(topic, dlqTopic, createClickHouseSink(storage), undefined, (options) => {
      const real = startChunkValidator(options, holding(workers))
      return {
        ...real,
        toChunk: (...args) => ((chunks += 1), real.toChunk(...args)),
        refuseWaiting: () => real.refuseWaiting(),
        close: () => real.close(),
      }
    })
    // A restore that never ends (a ClickHouse that does not answer).
    const running = await c.start({ detector, restoreStates: () => new Promise(() => {}) })
    const event = () => JSON.stringify(presentedEvent({ tenant: 'stop-restore-test' }))
    await produce(topic, [event()])
    await until(async () => (await committed(kafka, c.groupId, topic)) === 1, 'the first event')
    await workers[0]!.terminate()
    await produce(topic, [event()])
    await until(async () => chunks >= 2, 'the second chunk, waiting for the replacement')
    await running.stop()
    expect(await committed(kafka, c.groupId, topic)).toBe(1)
    expect(workers).toHaveLength(1)
  }, 180_000)

  it('stops without committing ahead of the store, and a restart stores the rest once', async () => {
    const { topic, dlqTopic, events, where, storedOnce } = await ingestCase('stop-test', 6_000)
    const c = consumer(topic, dlqTopic, createClickHouseSink(storage))
    const running = await c.start()
    await until(async () => (await committed(kafka, c.groupId, topic)) > 0, 'a first commit')
    await running.stop()
    // Whatever was committed is stored: a stop never commits ahead of the store.
    const atStop = await committed(kafka, c.groupId, topic)
    expect(await count(`SELECT count() c ${where}`, {})).toBeGreaterThanOrEqual(atStop)
    const again = await consumer(topic, dlqTopic, createClickHouseSink(storage), c.groupId).start()
    await until(
      async () => (await committed(kafka, c.groupId, topic)) === events.length,
      'the rest after a restart',
    )
    await again.stop()
    await storedOnce()
  }, 180_000)
})
