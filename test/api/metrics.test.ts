/**
 * `/metrics` as docs/deployment.md documents it: every series of its table is exposed, and HTTP
 * ingest moves the pipeline counters as the Kafka consumer does (inserted included).
 */
import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Metrics, pipelineMetrics } from '../../src/metrics.js'
import { createMemorySink } from '../../src/pipeline/memory-sink.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { memoryIngest, testApp } from '../helpers/api-app.js'
import { presentedEvent } from '../helpers/events.js'

const DOC = readFileSync(new URL('../../docs/deployment.md', import.meta.url), 'utf8')
const documented = [...DOC.matchAll(/^\s*\| `(audtrail_[a-z_]+)` +\| (counter|gauge|histogram)/gm)]

const sink = createMemorySink()
let app: FastifyInstance
let keys: Awaited<ReturnType<typeof apiKeys>>

beforeAll(async () => {
  keys = await apiKeys()
  app = await testApp(keys, memoryIngest(sink))
})
afterAll(() => app.close())

const value = (text: string, series: string) => {
  const m = new RegExp(`^${series} (\\d+)$`, 'm').exec(text)
  return m === null ? 0 : Number(m[1])
}

describe('/metrics', () => {
  it('documents at least the pipeline series, and exposes each with its documented type', async () => {
    expect(documented.map((m) => m[1])).toEqual(
      expect.arrayContaining([
        'audtrail_events_consumed_total',
        'audtrail_events_inserted_total',
        'audtrail_events_duplicate_total',
        'audtrail_events_rejected_total',
      ]),
    )
    const text = (await app.inject({ url: '/metrics' })).body
    for (const [, name, type] of documented) expect(text, name).toContain(`# TYPE ${name} ${type}`)
  })

  it('counts HTTP ingest: consumed, inserted, duplicates and rejected, each by its own events', async () => {
    const before = (await app.inject({ url: '/metrics' })).body
    const [a, b] = [presentedEvent(), presentedEvent()]
    const body = [a, b, a, { event_type: 'nope' }].map((e) => JSON.stringify(e)).join('\n')
    const res = await app.inject({
      method: 'POST',
      url: '/v1/ingest',
      headers: {
        'content-type': 'application/x-ndjson',
        authorization: `Bearer ${await keys.token({ roles: ['ingest'] })}`,
      },
      payload: body,
    })
    expect(res.json()).toMatchObject({ accepted: 2, duplicates: 1, rejected: 1 })
    const after = (await app.inject({ url: '/metrics' })).body
    const moved = (series: string) => value(after, series) - value(before, series)
    expect(moved('audtrail_events_consumed_total')).toBe(4)
    expect(moved('audtrail_events_inserted_total')).toBe(2)
    expect(moved('audtrail_events_duplicate_total')).toBe(1)
    expect(moved('audtrail_events_rejected_total')).toBe(1)
  })

  it('behind Kafka, leaves inserted to the consumer that stores the events', async () => {
    const own = new Metrics()
    const produced: unknown[] = []
    const kafkaLike = await testApp(keys, {
      metrics: own,
      readiness: async () => ({ storage: true }),
      ingest: {
        target: { write: async (accepted) => void produced.push(...accepted) },
        retentionDays: 400,
        pipeline: pipelineMetrics(own),
      },
    })
    try {
      const res = await kafkaLike.inject({
        method: 'POST',
        url: '/v1/ingest',
        headers: { authorization: `Bearer ${await keys.token({ roles: ['ingest'] })}` },
        payload: [presentedEvent(), presentedEvent()],
      })
      expect(res.json()).toMatchObject({ accepted: 2 })
      expect(produced).toHaveLength(2)
      const text = (await kafkaLike.inject({ url: '/metrics' })).body
      expect(value(text, 'audtrail_events_consumed_total')).toBe(2)
      expect(value(text, 'audtrail_events_inserted_total')).toBe(0)
    } finally {
      await kafkaLike.close()
    }
  })
})
