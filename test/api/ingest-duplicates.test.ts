import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { Metrics, pipelineMetrics } from '../../src/metrics.js'
import { sinkTarget } from '../../src/pipeline/ingest.js'
import { createMemorySink } from '../../src/pipeline/memory-sink.js'
import { createClickHouseSink, type EventSink } from '../../src/pipeline/sink.js'
import { migrate } from '../../src/storage/migrate.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { testApp } from '../helpers/api-app.js'
import { presentedEvent } from '../helpers/events.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

type Event = Record<string, unknown>
type Status = 'accepted' | 'duplicate' | 'rejected'

/**
 * Requests sent one after the other, each with the status expected for each of its events. The
 * events are built from fresh ones (a, b, c) per run: `other(a)` is another event under a's id.
 */
interface Case {
  name: string
  requests: (ids: { a: Event; b: Event; c: Event }) => { events: Event[]; expect: Status[] }[]
  /** Which event's content is stored under each id at the end. */
  stored?: (ids: { a: Event; b: Event; c: Event }) => Event[]
}

/**
 * Another event (another client, subject and token) under e's id, `shiftMs` from e's time. An id
 * names one event whatever its time: the sinks answer `duplicate` at any distance, across hours,
 * days and monthly partitions.
 */
const other = (e: Event, shiftMs = 0): Event => ({
  ...presentedEvent({ tenant: e.tenant, client_id: 'another-client', subject: 'another-user' }),
  event_id: e.event_id,
  occurred_at: new Date(Date.parse(e.occurred_at as string) + shiftMs).toISOString(),
})
const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

const CASES: Case[] = [
  {
    name: 'the same event twice in one request',
    requests: ({ a }) => [{ events: [a, a], expect: ['accepted', 'duplicate'] }],
    stored: ({ a }) => [a],
  },
  {
    name: 'an event sent again in a later request (a retry)',
    requests: ({ a }) => [
      { events: [a], expect: ['accepted'] },
      { events: [a], expect: ['duplicate'] },
    ],
    stored: ({ a }) => [a],
  },
  {
    name: 'another event under an id already stored (a producer id bug)',
    requests: ({ a }) => [
      { events: [a], expect: ['accepted'] },
      { events: [other(a)], expect: ['duplicate'] },
    ],
    stored: ({ a }) => [a],
  },
  ...[
    ['three hours later', 3 * HOUR_MS],
    ['two days earlier', -2 * DAY_MS],
    ['forty days earlier (another monthly partition)', -40 * DAY_MS],
    ['a millisecond later', 1],
  ].map(([when, shift]): Case => ({
    name: `another event under an id already stored, ${when as string}`,
    requests: ({ a }) => [
      { events: [a], expect: ['accepted'] },
      { events: [other(a, shift as number)], expect: ['duplicate'] },
    ],
    stored: ({ a }) => [a],
  })),
  {
    name: 'another event under an id used earlier in the same request, a day apart',
    requests: ({ a }) => [{ events: [a, other(a, DAY_MS)], expect: ['accepted', 'duplicate'] }],
    stored: ({ a }) => [a],
  },
  {
    name: 'another event under an id used earlier in the same request',
    requests: ({ a }) => [{ events: [a, other(a)], expect: ['accepted', 'duplicate'] }],
    stored: ({ a }) => [a],
  },
  {
    name: 'the same id in another tenant',
    requests: ({ a }) => [
      { events: [a], expect: ['accepted'] },
      { events: [{ ...a, tenant: `${a.tenant as string}-2` }], expect: ['accepted'] },
    ],
  },
  {
    name: 'an invalid event under a stored id',
    requests: ({ a }) => [
      { events: [a], expect: ['accepted'] },
      { events: [{ ...a, decision: 'maybe' }], expect: ['rejected'] },
    ],
    stored: ({ a }) => [a],
  },
  {
    name: 'duplicates, fresh events and a refusal in one request',
    requests: ({ a, b, c }) => [
      { events: [a, b], expect: ['accepted', 'accepted'] },
      {
        events: [other(b), c, { ...c, subject: 7 }, a, other(c)],
        expect: ['duplicate', 'accepted', 'rejected', 'duplicate', 'duplicate'],
      },
    ],
    stored: ({ a, b, c }) => [a, b, c],
  },
]

let keys: Awaited<ReturnType<typeof apiKeys>>
const storage = testStorage('ingest_duplicates')
beforeAll(async () => {
  keys = await apiKeys()
  await migrate(storage, { retention: RETENTION })
})
afterAll(closeTestStorages)

/** What a sink holds under an event id: its client_id and subject, to tell two events apart. */
type Lookup = (tenant: string, id: string) => Promise<{ client_id: string; subject: string }[]>

const SINKS: [string, () => { sink: EventSink; lookup: Lookup }][] = [
  [
    'the memory sink',
    () => {
      const sink = createMemorySink()
      return {
        sink,
        lookup: async (tenant, id) =>
          sink.rows
            .filter((r) => r.tenant === tenant && r.event_id === id)
            .map((r) => ({ client_id: r.client_id, subject: r.subject })),
      }
    },
  ],
  [
    'the ClickHouse sink',
    () => ({
      sink: createClickHouseSink(storage),
      lookup: async (tenant, id) => {
        const rs = await storage.client.query({
          query:
            'SELECT client_id, subject FROM ingest_duplicates.events FINAL WHERE tenant = {t:String} AND event_id = {id:String}',
          query_params: { t: tenant, id },
          format: 'JSONEachRow',
        })
        return rs.json()
      },
    }),
  ],
]

describe.each(SINKS)('POST /v1/ingest answers a duplicate event_id `duplicate` (%s)', (_, make) => {
  let app: FastifyInstance
  let lookup: Lookup
  let n = 0
  beforeAll(async () => {
    const made = make()
    lookup = made.lookup
    const metrics = new Metrics()
    app = await testApp(keys, {
      metrics,
      ingest: {
        target: sinkTarget(made.sink),
        retentionDays: 400,
        pipeline: pipelineMetrics(metrics),
      },
    })
  })
  afterAll(() => app.close())

  const cases = CASES.flatMap((c) => [
    [c.name, 'application/json', c] as const,
    [c.name, 'application/x-ndjson', c] as const,
  ])
  it.each(cases)('%s, as %s', async (_, contentType, c) => {
    const tenant = `dup-${++n}`
    const ids = {
      a: presentedEvent({ tenant }),
      b: presentedEvent({ tenant }),
      c: presentedEvent({ tenant }),
    }
    for (const request of c.requests(ids)) {
      // A caller bound to the request's tenant, as producers are.
      const token = await keys.token({
        roles: ['ingest'],
        tenant: request.events[0]!.tenant as string,
      })
      const payload =
        contentType === 'application/json'
          ? JSON.stringify(request.events)
          : request.events.map((e) => JSON.stringify(e)).join('\n')
      const res = await app.inject({
        method: 'POST',
        url: '/v1/ingest',
        headers: { 'content-type': contentType, authorization: `Bearer ${token}` },
        payload,
      })
      expect(res.statusCode).toBe(200)
      const count = (s: Status) => request.expect.filter((e) => e === s).length
      const body = res.json() as { results: { index: number; status: string; event_id?: string }[] }
      expect(body).toEqual({
        accepted: count('accepted'),
        duplicates: count('duplicate'),
        rejected: count('rejected'),
        results: request.events.map((e, index) =>
          request.expect[index] === 'rejected'
            ? { index, status: 'rejected', reasons: expect.any(Array), event_id: e.event_id }
            : { index, status: request.expect[index], event_id: e.event_id },
        ),
      })
    }
    // The first event under an id is the one kept: a duplicate never replaces it.
    for (const e of c.stored?.(ids) ?? [])
      expect(await lookup(tenant, e.event_id as string)).toEqual([
        { client_id: e.client_id, subject: e.subject },
      ])
  })
})
