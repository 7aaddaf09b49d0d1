/**
 * One decoding rule for HTTP ingest and the Kafka consumer: the same bytes that are not UTF-8 get
 * the same refusal on both paths (and the same kept copy), and the same valid UTF-8, U+FFFD
 * spelled as UTF-8 included, is stored the same on both. Items of every hostile shape too.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createLogger } from '../../src/logger.js'
import { Metrics, pipelineMetrics } from '../../src/metrics.js'
import { NOT_UTF8 } from '../../src/pipeline/decode.js'
import { sinkTarget } from '../../src/pipeline/ingest.js'
import { createMemorySink } from '../../src/pipeline/memory-sink.js'
import type { RejectedRow } from '../../src/events/rejected-row.js'
import type { EventRow } from '../../src/events/event-row.js'
import { startConsumer } from '../../src/transport/consumer.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { testApp } from '../helpers/api-app.js'
import { presentedEvent } from '../helpers/events.js'
import { HOSTILE } from '../helpers/hostile-shapes.js'
import { createTopic, pipelineKafka, testKafka, until } from '../helpers/kafka.js'

/** Byte sequences that are not UTF-8, each a different way of not being it. */
const INVALID: [string, number[]][] = [
  ['0xFF', [0xff]],
  ['0xFE', [0xfe]],
  ['a lone continuation byte', [0x80]],
  ['a lead byte without its continuation', [0xc3, 0x28]],
  ['an overlong slash', [0xc0, 0xaf]],
  ['an overlong NUL in three bytes', [0xe0, 0x80, 0x80]],
  ['an overlong four-byte sequence', [0xf0, 0x80, 0x80, 0x80]],
  ['a UTF-16 surrogate (U+D800) encoded', [0xed, 0xa0, 0x80]],
  ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ['a five-byte lead', [0xf8, 0x88, 0x80, 0x80, 0x80]],
  ['a three-byte sequence cut short', [0xe2, 0x82]],
  ['Latin-1 é', [0xe9]],
]

/** Where the bytes go in an otherwise valid event: in place of its one `@`. */
const PLACES: [string, () => Record<string, unknown>][] = [
  ['client_id', () => presentedEvent({ client_id: 'agent-@' })],
  ['subject', () => presentedEvent({ subject: '@' })],
  ['an attribute key', () => presentedEvent({ attributes: { 'k@': 1 } })],
  ['an unknown field', () => ({ ...presentedEvent(), note: 'x@y' })],
]

function splice(event: Record<string, unknown>, bytes: Buffer): Buffer {
  const parts = JSON.stringify(event).split('@')
  expect(parts).toHaveLength(2)
  return Buffer.concat([Buffer.from(parts[0]!), bytes, Buffer.from(parts[1]!)])
}

/** Valid UTF-8 that looks like the above: stored on both paths, never refused. */
const VALID: [string, string][] = [
  ['U+FFFD spelled in UTF-8', 'agent-\ufffd'],
  ['é in UTF-8', 'agent-é'],
  ['an emoji', 'agent-\u{1F600}'],
  ['a zero-width no-break space inside', 'agent-\ufeff-x'],
]

const bad = INVALID.flatMap(([name, seq]) =>
  PLACES.map(([place, event]) => ({
    name: `${name} in ${place}`,
    payload: splice(event(), Buffer.from(seq)),
  })),
)
const good = VALID.map(([name, clientId]) => {
  const event = presentedEvent({ client_id: clientId })
  return {
    name,
    clientId,
    eventId: event.event_id as string,
    payload: Buffer.from(JSON.stringify(event)),
  }
})

interface Outcome {
  reasons?: string[]
  kept?: Pick<RejectedRow, 'payload' | 'payload_bytes' | 'payload_sha256'>
  stored?: Pick<EventRow, 'client_id'>
}

const keep = (r: RejectedRow): Outcome['kept'] => ({
  payload: r.payload,
  payload_bytes: r.payload_bytes,
  payload_sha256: r.payload_sha256,
})

let keys: Awaited<ReturnType<typeof apiKeys>>
let app: FastifyInstance
const httpSink = createMemorySink()
beforeAll(async () => {
  keys = await apiKeys()
  const metrics = new Metrics()
  app = await testApp(keys, {
    metrics,
    ingest: {
      target: sinkTarget(httpSink),
      retentionDays: 400,
      pipeline: pipelineMetrics(metrics),
    },
  })
})
afterAll(() => app.close())

async function post(body: Buffer, contentType: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/ingest',
    headers: {
      'content-type': contentType,
      authorization: `Bearer ${await keys.token({ roles: ['ingest'] })}`,
    },
    payload: body,
  })
  expect(res.statusCode, res.body).toBe(200)
  return res.json() as {
    request: string
    results: { index: number; status: string; reasons?: string[] }[]
  }
}

/** What HTTP ingest made of each payload: its answer and what the sink kept. */
async function overHttp(
  payloads: Buffer[],
  shape: 'array' | 'ndjson' | 'alone',
): Promise<Outcome[]> {
  const before = new Set(httpSink.rejected.map((r) => r.rejection_id))
  const answers =
    shape === 'alone'
      ? await Promise.all(
          payloads.map(async (p) => (await post(p, 'application/json')).results[0]!),
        )
      : (
          await post(
            shape === 'array'
              ? Buffer.concat([
                  Buffer.from('['),
                  ...payloads.flatMap((p, i) => (i ? [Buffer.from(','), p] : [p])),
                  Buffer.from(']'),
                ])
              : Buffer.concat(payloads.flatMap((p) => [p, Buffer.from('\r\n')])),
            shape === 'array' ? 'application/json' : 'application/x-ndjson',
          )
        ).results
  expect(answers).toHaveLength(payloads.length)
  const fresh = httpSink.rejected.filter((r) => !before.has(r.rejection_id))
  return answers.map((answer, i) => {
    if (answer.status !== 'rejected') {
      const id = JSON.parse(payloads[i]!.toString()).event_id as string
      const row = httpSink.rows.find((r) => r.event_id === id)!
      return { stored: { client_id: row.client_id } }
    }
    // Alone, each item is index 0 of its own request: told apart by its hash.
    const row = fresh.find((r) =>
      shape === 'alone'
        ? r.payload_bytes === payloads[i]!.byteLength && r.payload === keepOf(payloads[i]!)
        : r.source_ref.endsWith(`/${answer.index}`),
    )!
    return { reasons: answer.reasons, kept: keep(row) }
  })
}

const keepOf = (p: Buffer) => `base64:${p.toString('base64')}`

/** What the Kafka consumer made of each payload, produced as one message each. */
async function overKafka(payloads: Buffer[]): Promise<Outcome[]> {
  const kafka = testKafka()
  const topic = await createTopic(kafka, 1)
  const dlqTopic = await createTopic(kafka, 1, 'audtrail.test.dlq')
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  await producer.send({ topic, acks: -1, messages: payloads.map((value) => ({ value })) })
  await producer.disconnect()
  const sink = createMemorySink()
  const running = await startConsumer({
    kafka: pipelineKafka(),
    topic,
    dlqTopic,
    groupId: `utf8-${randomUUID()}`,
    sink,
    metrics: pipelineMetrics(new Metrics()),
    logger: createLogger('silent'),
    retentionDays: 400,
  })
  try {
    await until(
      async () => sink.rows.length + sink.rejected.length === payloads.length,
      'every message stored or rejected',
      60_000,
    )
  } finally {
    await running.stop()
  }
  return payloads.map((p, offset) => {
    const rejected = sink.rejected.find((r) => r.source_ref === `${topic}/0/${offset}`)
    if (rejected) return { reasons: rejected.reasons, kept: keep(rejected) }
    const id = JSON.parse(p.toString()).event_id as string
    return { stored: { client_id: sink.rows.find((r) => r.event_id === id)!.client_id } }
  })
}

describe('bytes that are not UTF-8, over HTTP and over Kafka', () => {
  const payloads = [...bad.map((b) => b.payload), ...good.map((g) => g.payload)]
  let kafka: Outcome[]
  beforeAll(async () => {
    kafka = await overKafka(payloads)
  }, 120_000)

  it('are refused by the Kafka path as not UTF-8, each kept as its exact bytes', () => {
    bad.forEach((b, i) =>
      expect(kafka[i], b.name).toEqual({
        reasons: [NOT_UTF8],
        kept: {
          payload: keepOf(b.payload),
          payload_bytes: b.payload.byteLength,
          payload_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        },
      }),
    )
    good.forEach((g, i) =>
      expect(kafka[bad.length + i], g.name).toEqual({ stored: { client_id: g.clientId } }),
    )
  })

  it.each(['array', 'ndjson', 'alone'] as const)(
    'get the same refusals and the same kept bytes over HTTP (%s), and valid neighbours are stored the same',
    async (shape) => {
      // Fresh copies of the valid events: each request stores its own.
      const fresh = good.map((g) => {
        const event = { ...JSON.parse(g.payload.toString()), event_id: randomUUID() }
        return Buffer.from(JSON.stringify(event))
      })
      const http = await overHttp([...bad.map((b) => b.payload), ...fresh], shape)
      expect(http).toEqual(kafka)
    },
  )
})

describe('items of every hostile shape, over HTTP and over Kafka', () => {
  // What fits in a Kafka message (the broker's limit is 1 MB).
  const shapes = HOSTILE.filter((h) => Buffer.byteLength(h.text) < 900_000)
  const payloads = shapes.map((h) => Buffer.from(h.text))
  let kafka: Outcome[]
  beforeAll(async () => {
    kafka = await overKafka(payloads)
  }, 120_000)

  it('are each refused by the Kafka path, which goes on with the next message', () => {
    expect(shapes.length).toBeGreaterThanOrEqual(25)
    shapes.forEach((h, i) => expect(kafka[i]!.reasons?.length, h.name).toBeGreaterThan(0))
  })

  it.each(['array', 'ndjson'] as const)(
    'get the same refusals and kept copies over HTTP (%s)',
    async (shape) => {
      expect(await overHttp(payloads, shape)).toEqual(kafka)
    },
  )
})
