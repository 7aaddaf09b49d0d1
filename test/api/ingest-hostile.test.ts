import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { ingest, MAX_KEPT_DEPTH, sinkTarget } from '../../src/pipeline/ingest.js'
import { createMemorySink } from '../../src/pipeline/memory-sink.js'
import { PAYLOAD_NOT_KEPT } from '../../src/events/rejected-row.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { memoryIngest, testApp } from '../helpers/api-app.js'
import { presentedEvent } from '../helpers/events.js'
import { HOSTILE_JWT_PARTS } from '../helpers/hostile.js'
import { DEEP, HOSTILE } from '../helpers/hostile-shapes.js'
import { seededRandom } from '../helpers/random.js'

const sink = createMemorySink()
let app: FastifyInstance
let keys: Awaited<ReturnType<typeof apiKeys>>

beforeAll(async () => {
  keys = await apiKeys()
  app = await testApp(keys, memoryIngest(sink))
})
afterAll(() => app.close())

const token = () => keys.token({ roles: ['ingest'] })

async function post(body: Buffer, contentType: string) {
  return app.inject({
    method: 'POST',
    url: '/v1/ingest',
    headers: { 'content-type': contentType, authorization: `Bearer ${await token()}` },
    payload: body,
  })
}

type Item =
  | { valid: true; event: Record<string, unknown> }
  | { valid: false; name: string; text: string | Buffer }

/** Every hostile item once, and as many valid events, in an order of this seed. */
function mixed(seed: number): Item[] {
  const rnd = seededRandom(seed)
  const items: Item[] = [
    ...HOSTILE.map((h) => ({ valid: false as const, ...h })),
    ...HOSTILE.map(() => ({ valid: true as const, event: presentedEvent() })),
  ]
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
  return items
}

const textOf = (item: Item) =>
  item.valid ? Buffer.from(JSON.stringify(item.event)) : Buffer.from(item.text)

function expectEachAnswered(
  res: Awaited<ReturnType<typeof post>>,
  items: Item[],
  indexes: number[],
) {
  expect(res.statusCode, res.body.slice(0, 500)).toBe(200)
  const body = res.json() as {
    accepted: number
    rejected: number
    results: { index: number; status: string; event_id?: string; reasons?: string[] }[]
  }
  const hostile = items.filter((i) => !i.valid).length
  expect(body).toMatchObject({ accepted: items.length - hostile, rejected: hostile })
  expect(body.results.map((r) => r.index)).toEqual(indexes)
  items.forEach((item, i) => {
    const result = body.results[i]!
    if (item.valid) {
      expect(result).toEqual({
        index: indexes[i],
        status: 'accepted',
        event_id: item.event.event_id,
      })
    } else {
      expect(result.status, item.name).toBe('rejected')
      expect(result.reasons!.length, item.name).toBeGreaterThan(0)
    }
  })
  return body
}

function expectStored(items: Item[], indexes: number[], requestIds: Set<string>) {
  const stored = new Set(sink.rows.map((r) => r.event_id))
  for (const item of items)
    if (item.valid) expect(stored.has(item.event.event_id as string)).toBe(true)
  // One rejected row per hostile item, named by its position in the request.
  const refs = new Set(sink.rejected.map((r) => r.source_ref))
  items.forEach((item, i) => {
    if (item.valid) return
    const ref = [...requestIds].map((id) => `http/${id}/${indexes[i]}`).find((r) => refs.has(r))
    expect(ref, item.name).toBeDefined()
  })
}

describe('POST /v1/ingest with hostile items of every shape among valid events', () => {
  const seen = () => new Set(sink.rejected.map((r) => r.source_ref.split('/')[1]!))

  it.each([1, 2, 3, 4])(
    'answers each item of a JSON array on its own and stores every valid neighbour (order %i)',
    async (seed) => {
      const items = mixed(seed)
      const before = seen()
      const body = Buffer.concat([
        Buffer.from('[\n'),
        ...items.flatMap((item, i) =>
          i === 0 ? [textOf(item)] : [Buffer.from(', '), textOf(item)],
        ),
        Buffer.from('\n]'),
      ])
      const indexes = items.map((_, i) => i)
      expectEachAnswered(await post(body, 'application/json'), items, indexes)
      const requests = new Set([...seen()].filter((id) => !before.has(id)))
      expect(requests.size).toBe(1)
      expectStored(items, indexes, requests)
    },
  )

  it.each([5, 6])(
    'answers each NDJSON line on its own, with its line number, blank lines counted (order %i)',
    async (seed) => {
      const items = mixed(seed)
      const before = seen()
      // A blank line before every third item: the answer's index is the line, not the count.
      const lines: Buffer[] = []
      const indexes: number[] = []
      items.forEach((item, i) => {
        if (i % 3 === 0) lines.push(Buffer.from(i % 2 ? '  \r' : ''))
        indexes.push(lines.length)
        lines.push(textOf(item))
      })
      const body = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]))
      expectEachAnswered(await post(body, 'application/x-ndjson'), items, indexes)
      expectStored(items, indexes, new Set([...seen()].filter((id) => !before.has(id))))
    },
  )

  // An array sent as the body is the request's array: its elements are the items (the deep ones
  // still arrive as items 19 999 levels deep).
  const ALONE = HOSTILE.filter((h) => !['an empty array', 'an array of events'].includes(h.name))
  it.each(ALONE.map((h) => [h.name, h.text] as const))(
    'answers %s sent alone as the body with a per-item refusal or a 400, never a 5xx',
    async (name, text) => {
      const res = await post(Buffer.from(text), 'application/json')
      if (res.statusCode === 400) {
        // Only a body that is not JSON at all is refused whole.
        expect([
          'an element that is not JSON',
          'a bare word',
          'an array with a trailing comma',
        ]).toContain(name)
        return
      }
      expect(res.statusCode).toBe(200)
      const body = res.json() as { accepted: number; results: { status: string }[] }
      expect(body.accepted).toBe(0)
      expect(body.results.length).toBeGreaterThan(0)
      for (const r of body.results) expect(r.status).toBe('rejected')
    },
  )

  it('keeps no raw JWT of a refused item, however deep, and pollutes no prototype', () => {
    const payloads = sink.rejected.map((r) =>
      r.payload.startsWith('base64:')
        ? Buffer.from(r.payload.slice(7), 'base64')
        : Buffer.from(r.payload),
    )
    expect(payloads.length).toBeGreaterThan(0)
    expect(payloads.filter((p) => HOSTILE_JWT_PARTS.some((part) => p.includes(part)))).toEqual([])
    // The deep ones could not be written again without their token: not kept at all.
    expect(payloads.filter((p) => p.toString() === PAYLOAD_NOT_KEPT).length).toBeGreaterThan(0)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})

describe('ingest() of values decoded in process', () => {
  function deepArrayValue(depth: number): unknown {
    let v: unknown = []
    for (let i = 0; i < depth; i++) v = [v]
    return v
  }
  function deepObjectValue(depth: number): unknown {
    let v: unknown = null
    for (let i = 0; i < depth; i++) v = Object.assign(Object.create(null) as object, { a: v })
    return v
  }
  const cyclic: Record<string, unknown> = { event_id: 'x' }
  cyclic.self = cyclic
  const VALUES: [string, unknown, RegExp][] = [
    ['arrays 20 000 deep', deepArrayValue(DEEP), /^\(not kept: nested deeper than 64 levels\)$/],
    ['null-prototype objects 20 000 deep', deepObjectValue(DEEP), /^\(not kept: nested deeper/],
    ['arrays just within the kept depth', deepArrayValue(MAX_KEPT_DEPTH - 1), /^\[\[\[/],
    ['a cycle', cyclic, /^\(not kept: not JSON: TypeError\)$/],
    ['a BigInt', 10n, /^\(not kept: not JSON: TypeError\)$/],
    ['an object holding a BigInt', { n: 10n }, /^\(not kept: not JSON: TypeError\)$/],
    ['undefined', undefined, /^\(not kept: undefined is not JSON\)$/],
    ['a symbol', Symbol('s'), /^\(not kept: symbol is not JSON\)$/],
    ['a function', () => 1, /^\(not kept: function is not JSON\)$/],
    [
      'an object with a throwing getter',
      Object.defineProperty({}, 'event_id', {
        enumerable: true,
        get: () => {
          throw new Error('boom')
        },
      }),
      /^\(not kept: not JSON: Error\)$/,
    ],
    [
      'a proxy that throws on every trap',
      new Proxy(
        {},
        {
          ownKeys: () => {
            throw new Error('trap')
          },
          get: () => {
            throw new Error('trap')
          },
        },
      ),
      /^\(not kept: not JSON: Error\)$/,
    ],
    [
      'an object with a toJSON method',
      { toJSON: () => deepArrayValue(DEEP) },
      /^\(not kept: not JSON: RangeError\)$/,
    ],
  ]

  it.each(VALUES)(
    'refuses %s on its own, keeps what it can, and stores its neighbours',
    async (_, value, kept) => {
      const memory = createMemorySink()
      const valid = [presentedEvent(), presentedEvent()]
      const results = await ingest(
        [{ value: valid[0] }, { value }, { value: valid[1] }],
        { requestId: 'in-process', receivedAt: Date.now(), retentionDays: 400 },
        sinkTarget(memory),
      )
      expect(results.map((r) => r.status)).toEqual(['accepted', 'rejected', 'accepted'])
      expect(memory.rows.map((r) => r.event_id)).toEqual(valid.map((v) => v.event_id))
      expect(memory.rejected).toHaveLength(1)
      expect(memory.rejected[0]!.source_ref).toBe('http/in-process/1')
      expect(memory.rejected[0]!.payload).toMatch(kept)
    },
  )
})
