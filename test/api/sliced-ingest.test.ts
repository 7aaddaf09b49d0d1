/**
 * Large ingests in slices (src/api/sliced-ingest.ts): the same answers and stored events as one
 * `ingest` over the whole request, duplicates across slices and parts included; the event loop
 * turns between slices (a callback queued before the request runs after its first slice, not
 * after its last); the events are written a part at a time; a failed write fails the request with
 * the earlier parts stored. Over HTTP, the route ingests in slices.
 */
import { describe, expect, it } from 'vitest'
import { createAuthenticator } from '../../src/api/auth.js'
import { Fairness, withFairness } from '../../src/api/fairness.js'
import { DEFAULT_SLICING, ingestInSlices } from '../../src/api/sliced-ingest.js'
import { Metrics, pipelineMetrics } from '../../src/metrics.js'
import {
  ingest,
  sinkTarget,
  type IngestItem,
  type IngestTarget,
} from '../../src/pipeline/ingest.js'
import { createMemorySink } from '../../src/pipeline/memory-sink.js'
import { testApp } from '../helpers/api-app.js'
import { API_AUDIENCE, API_ISSUER, apiKeys } from '../helpers/api-tokens.js'
import { presentedEvent } from '../helpers/events.js'

const ctx = { requestId: 'r1', receivedAt: Date.now(), retentionDays: 400, tenant: 'acme' }
const SMALL = { slice: 7, write: 20 }

/** A request of every kind of item: valid, repeated near and far, invalid, bytes and values. */
function request(): IngestItem[] {
  const events = Array.from({ length: 60 }, () => presentedEvent({ tenant: 'acme' }))
  const out: IngestItem[] = []
  for (let i = 0; i < 100; i++) {
    const e = events[i % 60]!
    if (i % 13 === 5) out.push({ value: { not: 'an event' } })
    else if (i % 11 === 3) out.push({ payload: Buffer.from('{"broken": ') })
    else if (i % 2 === 0) out.push({ payload: Buffer.from(JSON.stringify(e)) })
    else out.push({ value: e })
  }
  // The same event again, within a slice, in the next slice and in a later part.
  out.splice(3, 0, out[2]!)
  out.push(out[1]!, out[10]!)
  return out
}

describe('ingestInSlices', () => {
  it('answers and stores as one ingest of the whole request does', async () => {
    const items = request()
    const whole = createMemorySink()
    const sliced = createMemorySink()
    const expected = await ingest(items, ctx, sinkTarget(whole))
    const got = await ingestInSlices(items, ctx, sinkTarget(sliced), SMALL)
    expect(got).toEqual(expected)
    expect(got.filter((r) => r.status === 'duplicate').length).toBeGreaterThan(20)
    expect(got.filter((r) => r.status === 'rejected').length).toBeGreaterThan(10)
    expect(sliced.rows.map((r) => r.event_id)).toEqual(whole.rows.map((r) => r.event_id))
    expect(sliced.rejected.map((r) => r.source_ref)).toEqual(
      whole.rejected.map((r) => r.source_ref),
    )
    // A part of 20 events at a time: 6 writes instead of 1.
    expect(whole.writes).toBe(1)
    expect(sliced.writes).toBe(Math.ceil(items.length / SMALL.write))
  })

  it('keeps the position of in-process items without an index', async () => {
    const items = [presentedEvent(), { bad: true }, presentedEvent()].map((value) => ({ value }))
    const got = await ingestInSlices(items, ctx, sinkTarget(createMemorySink()), {
      slice: 1,
      write: 2,
    })
    expect(got.map((r) => [r.index, r.status])).toEqual([
      [0, 'accepted'],
      [1, 'rejected'],
      [2, 'accepted'],
    ])
  })

  it('lets the event loop turn between slices', async () => {
    // Each event a proxy that notes when validation reads it; a callback queued before the
    // request notes how many had been read when it ran.
    const touched = new Set<number>()
    const items = Array.from({ length: 2000 }, (_, i) => ({
      value: new Proxy(presentedEvent(), {
        get(target, property, receiver) {
          touched.add(i)
          return Reflect.get(target, property, receiver) as unknown
        },
      }),
    }))
    const readBy = async (slicing: typeof DEFAULT_SLICING | false) => {
      touched.clear()
      let seen = -1
      setImmediate(() => (seen = touched.size))
      await ingestInSlices(items, ctx, sinkTarget(createMemorySink()), slicing)
      await new Promise((resolve) => setImmediate(resolve))
      return seen
    }
    expect(await readBy(DEFAULT_SLICING)).toBe(DEFAULT_SLICING.slice)
    // In one piece (the switch off), the callback waits for the whole request.
    expect(await readBy(false)).toBe(2000)
  })

  it('fails with a write that fails, the parts before it stored', async () => {
    const sink = createMemorySink()
    const inner = sinkTarget(sink)
    let writes = 0
    const target: IngestTarget = {
      async write(accepted, rejected) {
        if (++writes === 2) throw new Error('storage went away')
        return inner.write(accepted, rejected)
      },
    }
    const items = Array.from({ length: 50 }, () => ({ value: presentedEvent() }))
    await expect(ingestInSlices(items, ctx, target, SMALL)).rejects.toThrow('storage went away')
    expect(sink.rows.length).toBe(20)
    expect(writes).toBe(2)
  })
})

describe('POST /v1/ingest', () => {
  it('writes a large request in parts, and in one piece with slicing switched off', async () => {
    const keys = await apiKeys()
    const token = await keys.token({ roles: ['ingest'], tenant: 'acme' })
    const body = JSON.stringify(Array.from({ length: 6000 }, () => presentedEvent()))
    const writesWith = async (fairness: Fairness) => {
      const sink = createMemorySink()
      const metrics = new Metrics()
      const limited = await testApp(keys, {
        metrics,
        authenticate: withFairness(
          createAuthenticator({ keys: keys.keys, issuer: API_ISSUER, audience: API_AUDIENCE }),
          fairness,
        ),
        ingest: {
          target: sinkTarget(sink),
          retentionDays: 400,
          pipeline: pipelineMetrics(metrics),
        },
      })
      const res = await limited.inject({
        method: 'POST',
        url: '/v1/ingest',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: body,
      })
      await limited.close()
      expect(res.statusCode, res.body).toBe(200)
      expect(JSON.parse(res.body)).toMatchObject({ accepted: 6000, rejected: 0 })
      return sink.writes
    }
    expect(await writesWith(new Fairness())).toBe(Math.ceil(6000 / DEFAULT_SLICING.write))
    expect(await writesWith(new Fairness({ sliced: false }))).toBe(1)
  })
})
