/**
 * The Kafka path's hostile corpus over HTTP ingest: each case, as one NDJSON line between two
 * valid events, gets the answer the Kafka path gives it (refused, with the same reasons), and its
 * valid neighbours are stored.
 */
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMemorySink } from '../../src/pipeline/memory-sink.js'
import { processPayload } from '../../src/pipeline/process.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { memoryIngest, testApp } from '../helpers/api-app.js'
import { presentedEvent } from '../helpers/events.js'
import { hostileCorpus } from '../helpers/hostile.js'

const sink = createMemorySink()
let app: FastifyInstance
let keys: Awaited<ReturnType<typeof apiKeys>>

beforeAll(async () => {
  keys = await apiKeys()
  app = await testApp(keys, memoryIngest(sink))
})
afterAll(() => app.close())

// A line feed would split the case into two NDJSON lines: those go through the Kafka tests only.
const corpus = hostileCorpus()
  .map((c) => ({ name: c.name, bytes: Buffer.from(c.payload) }))
  .filter((c) => !c.bytes.includes(0x0a))

describe('the hostile corpus over HTTP ingest', () => {
  it('covers most of the corpus as NDJSON lines', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(200)
  })

  it.each(corpus.map((c) => [c.name, c] as const))(
    '%s: refused with the Kafka path reasons, its neighbours stored',
    async (_name, c) => {
      const [before, after] = [presentedEvent(), presentedEvent()]
      const body = Buffer.concat([
        Buffer.from(`${JSON.stringify(before)}\n`),
        c.bytes,
        Buffer.from(`\n${JSON.stringify(after)}\n`),
      ])
      const res = await app.inject({
        method: 'POST',
        url: '/v1/ingest',
        headers: {
          'content-type': 'application/x-ndjson',
          authorization: `Bearer ${await keys.token({ roles: ['ingest'] })}`,
        },
        payload: body,
      })
      expect(res.statusCode).toBe(200)
      const answer = res.json() as { results: { status: string; reasons?: string[] }[] }
      expect(answer.results.map((r) => r.status)).toEqual(['accepted', 'rejected', 'accepted'])
      const kafka = processPayload(c.bytes, { receivedAt: Date.now(), retentionDays: 400 })
      expect(kafka.kind).toBe('dlq')
      if (kafka.kind === 'dlq') expect(answer.results[1]!.reasons).toEqual(kafka.reasons)
      const stored = new Set(sink.rows.map((r) => r.event_id))
      expect(stored.has(before.event_id as string) && stored.has(after.event_id as string)).toBe(
        true,
      )
    },
  )
})
