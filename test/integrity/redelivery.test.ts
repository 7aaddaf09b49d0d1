/**
 * The chain survives the exactly-once machinery: events redelivered through the real broker (a
 * second consumer group reading everything again, a restarted writer), an insert whose
 * acknowledgement was lost, and a journal entry left by a process that died, never fork or break
 * a chain: every stored event has exactly one link, and the walk verifies clean.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { StorageError } from '../../src/errors.js'
import { Chainer } from '../../src/integrity/chainer.js'
import { createLogger } from '../../src/logger.js'
import { Metrics, pipelineMetrics } from '../../src/metrics.js'
import { createClickHouseSink } from '../../src/pipeline/sink.js'
import type { Storage } from '../../src/storage/client.js'
import { startConsumer } from '../../src/transport/consumer.js'
import { presentedEvent, presentedRow } from '../helpers/events.js'
import { committed, createTopic, pipelineKafka, testKafka, until } from '../helpers/kafka.js'
import { closeTestStorages } from '../helpers/storage.js'
import { chained, chainRows } from './helpers.js'

afterAll(closeTestStorages)
const kafka = testKafka()

async function produce(topic: string, values: string[]) {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) })
  await producer.disconnect()
}

/** Consume `topic` from the beginning with a new group until `n` offsets are committed. */
async function consumeAll(topic: string, sink: ReturnType<typeof createClickHouseSink>, n: number) {
  const groupId = `g-${randomUUID()}`
  const running = await startConsumer({
    kafka: pipelineKafka(),
    topic,
    dlqTopic: `${topic}.dlq`,
    groupId,
    sink,
    metrics: pipelineMetrics(new Metrics()),
    logger: createLogger('silent'),
    retentionDays: 400,
    maxBatchRows: 40,
  })
  await until(async () => (await committed(kafka, groupId, topic)) === n, `${n} offsets committed`)
  await running.stop()
}

/** Each event stored once, each with one link, positions 1..n in every chain. */
async function oneLinkEach(c: Awaited<ReturnType<typeof chained>>, tenant: string, n: number) {
  const rows = await chainRows(c.storage, tenant)
  expect(rows).toHaveLength(n)
  expect(new Set(rows.map((r) => r.event_id)).size).toBe(n)
  const perChain = new Map<string, number[]>()
  for (const r of rows) perChain.set(r.chain_id, [...(perChain.get(r.chain_id) ?? []), r.chain_seq])
  for (const seqs of perChain.values())
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1))
  return perChain
}

describe('the chain through redelivery', () => {
  it('keeps one link per event when the broker delivers everything again, to the same writer and to a restarted one', async () => {
    const c = await chained('chain_kafka', 'wfirst')
    const tenant = 'kafka-chain'
    const topic = await createTopic(kafka, 3)
    const first = Array.from({ length: 240 }, () => JSON.stringify(presentedEvent({ tenant })))
    await produce(topic, first)
    await consumeAll(topic, c.sink, 240)
    await c.checkpointer.checkpoint()
    // Redelivered: some of the same events again (same ids) and some new, read by another group.
    const fresh = Array.from({ length: 30 }, () => JSON.stringify(presentedEvent({ tenant })))
    await produce(topic, [...first.slice(0, 90), ...fresh])
    await consumeAll(topic, c.sink, 360)
    // A restarted process (another writer) reads the whole topic again: all of it is stored.
    const restarted = createClickHouseSink(c.storage, {
      integrity: { chainer: new Chainer('wsecond') },
    })
    await consumeAll(topic, restarted, 360)
    await c.checkpointer.checkpoint()

    const chains = await oneLinkEach(c, tenant, 270)
    // Three partitions, one chain each, all of the first writer: the restarted one linked nothing.
    expect([...chains.keys()].sort()).toEqual([0, 1, 2].map((p) => `kafka:${topic}:${p}/wfirst`))
    const report = await c.verify(tenant, { pageSize: 50 })
    expect(report.issues).toEqual([])
    expect(report.ok).toBe(true)
    expect(report.chains.reduce((s, x) => s + x.attested, 0)).toBe(270)
  }, 180_000)

  it('sends an insert whose acknowledgement was lost again with its links, and links nothing twice', async () => {
    const c = await chained('chain_lost_ack', 'wlost')
    let lost = false
    const flaky: Storage = {
      ...c.storage,
      events: {
        ...c.storage.events,
        async sendInsert(insert) {
          await c.storage.events.sendInsert(insert)
          if (!lost) {
            lost = true
            throw new StorageError('ERR_SINK_UNAVAILABLE', 'the acknowledgement was lost')
          }
        },
      },
    }
    const sink = createClickHouseSink(flaky, {
      integrity: { chainer: c.chainer, checkpointer: c.checkpointer },
    })
    const rows = Array.from({ length: 8 }, () => presentedRow({ tenant: 'lost' }))
    await expect(sink.write({ rows, rejected: [] })).rejects.toThrow(/lost/)
    // Retried, as the consumer does: the journal sends the insert again, the lookup finds them.
    expect((await sink.write({ rows, rejected: [] })).inserted).toBe(0)
    await sink.write({ rows: [presentedRow({ tenant: 'lost' })], rejected: [] })
    await c.checkpointer.checkpoint()
    await oneLinkEach(c, 'lost', 9)
    const report = await c.verify('lost')
    expect(report.issues).toEqual([])
    expect(report.chains).toEqual([
      { chain: 'http/wlost', rows: 9, last_position: 9, attested: 9, unattested: 0 },
    ])
  })

  it("completes a dead process's chain from its journal; the next process links nothing twice", async () => {
    const c = await chained('chain_journal', 'wlive')
    const dir = mkdtempSync(join(tmpdir(), 'audtrail-journal-'))
    const down: Storage = {
      ...c.storage,
      events: {
        ...c.storage.events,
        sendInsert: () => Promise.reject(new StorageError('ERR_SINK_UNAVAILABLE', 'down')),
      },
    }
    const dead = createClickHouseSink(down, {
      journalDir: dir,
      integrity: { chainer: new Chainer('wdead') },
    })
    const rows = Array.from({ length: 5 }, () => presentedRow({ tenant: 'journal' }))
    await expect(dead.write({ rows, rejected: [] })).rejects.toThrow(/down/)
    // The next process, on the same journal, is given the same events again.
    const next = createClickHouseSink(c.storage, {
      journalDir: dir,
      integrity: { chainer: c.chainer, checkpointer: c.checkpointer },
    })
    expect((await next.write({ rows, rejected: [] })).inserted).toBe(0)
    const chains = await oneLinkEach(c, 'journal', 5)
    expect([...chains.keys()]).toEqual(['http/wdead'])
    const report = await c.verify('journal')
    expect(report.ok).toBe(true)
    // The dead writer signed nothing: its chain is intact, not yet vouched for by a checkpoint.
    expect(report.chains).toEqual([
      { chain: 'http/wdead', rows: 5, last_position: 5, attested: 0, unattested: 5 },
    ])
  })
})
