import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ScalableBloom } from '../../src/pipeline/bloom.js'
import { createClickHouseSink } from '../../src/pipeline/sink.js'
import { storedIds } from '../../src/pipeline/stored-ids.js'
import { toDateTime64 } from '../../src/events/event-row.js'
import { encodeEvents } from '../../src/storage/events-store.js'
import { migrate } from '../../src/storage/migrate.js'
import { presentedRow } from '../helpers/events.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

const storage = testStorage('sink_dedup')
const preloaded = testStorage('sink_preloaded')
const paged = testStorage('sink_paged')
const bounded = testStorage('sink_bounded')
const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS
/** A fixed event id (the Bloom filter's answers for fixed ids are fixed: no test left to chance). */
const fixedId = (series: number, i: number) =>
  `00000000-0000-4000-8${series.toString(16).padStart(3, '0')}-${i.toString(16).padStart(12, '0')}`

async function counts(db: string, tenant: string): Promise<{ rows: number; rollup: number }> {
  const rs = await storage.client.query({
    query: `SELECT
              (SELECT count() FROM ${db}.events WHERE tenant = {t:String}) AS rows,
              (SELECT sum(events) FROM ${db}.resource_usage_daily
                WHERE tenant = {t:String} AND role = 'resource_server') AS rollup`,
    query_params: { t: tenant },
    format: 'JSONEachRow',
  })
  const [c] = await rs.json<{ rows: string | number; rollup: string | number }>()
  return { rows: Number(c!.rows), rollup: Number(c!.rollup) }
}

beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
  await migrate(preloaded, { retention: RETENTION })
  await migrate(paged, { retention: RETENTION })
  await migrate(bounded, { retention: RETENTION })
})
afterAll(closeTestStorages)

describe('the ClickHouse sink', () => {
  it('stores a redelivered batch of recent events once, in events and in the rollups', async () => {
    const sink = createClickHouseSink(storage)
    const rows = Array.from({ length: 50 }, () => presentedRow({ tenant: 'recent' }))
    expect((await sink.write({ rows, rejected: [] })).inserted).toBe(50)
    // Redelivered after a crash, with new neighbours: another content, another dedup token.
    const again = [
      ...rows.slice(10, 30),
      ...Array.from({ length: 5 }, () => presentedRow({ tenant: 'recent' })),
    ]
    const result = await sink.write({ rows: again, rejected: [] })
    expect(result).toEqual({
      inserted: 5,
      duplicates: 20,
      duplicateLines: Array.from({ length: 20 }, (_, i) => i),
      rejected: 0,
    })
    expect(await counts('sink_dedup', 'recent')).toEqual({ rows: 55, rollup: 55 })
  })

  it('looks up events older than the hours it holds in memory, and still stores them once', async () => {
    const sink = createClickHouseSink(storage)
    const old = new Date(Date.now() - 30 * HOUR_MS).toISOString()
    const rows = Array.from({ length: 20 }, () => presentedRow({ tenant: 'old', occurred_at: old }))
    await sink.write({ rows, rejected: [] })
    expect(await sink.write({ rows, rejected: [] })).toEqual({
      inserted: 0,
      duplicates: 20,
      duplicateLines: Array.from({ length: 20 }, (_, i) => i),
      rejected: 0,
    })
    expect(await counts('sink_dedup', 'old')).toEqual({ rows: 20, rollup: 20 })
  })

  it('tells the same event id of two tenants apart', async () => {
    const sink = createClickHouseSink(storage)
    const a = presentedRow({ tenant: 'tenant-a' })
    const b = { ...a, tenant: 'tenant-b' }
    await sink.write({ rows: [a], rejected: [] })
    expect((await sink.write({ rows: [b, a], rejected: [] })).inserted).toBe(1)
    expect(await counts('sink_dedup', 'tenant-b')).toEqual({ rows: 1, rollup: 1 })
  })

  it('knows the ids stored before it started (a restarted consumer)', async () => {
    const rows = Array.from({ length: 30 }, (_, i) =>
      presentedRow({ tenant: 'restart', event_id: fixedId(1, i) }),
    )
    // Written behind the filter's back, as a previous process would have.
    await preloaded.insert('sink_preloaded.events', rows)
    const filter = storedIds(preloaded)
    const all = Array.from({ length: 30 }, (_, i) => i)
    expect(await filter.candidates(encodeEvents(rows), all)).toHaveLength(30)
    const fresh = Array.from({ length: 30 }, (_, i) =>
      presentedRow({ tenant: 'restart', event_id: fixedId(2, i) }),
    )
    // A Bloom filter may call a new id stored (then it is looked up); for these ids it does not.
    expect(await filter.candidates(encodeEvents(fresh), all)).toEqual([])
    const sink = createClickHouseSink(preloaded)
    expect(await sink.write({ rows: [...rows, ...fresh], rejected: [] })).toEqual({
      inserted: 30,
      duplicates: 30,
      duplicateLines: Array.from({ length: 30 }, (_, i) => i),
      rejected: 0,
    })
    expect(filter.held()).toBe(60)
  })

  it("loads what was stored before in pages, whatever the events' times", async () => {
    const times = [0, -3 * HOUR_MS, -2 * DAY_MS, -45 * DAY_MS, -300 * DAY_MS]
    const rows = Array.from({ length: 50 }, (_, i) =>
      presentedRow({
        tenant: `paged-${i % 3}`,
        event_id: fixedId(3, i),
        occurred_at: new Date(Date.now() + times[i % times.length]!).toISOString(),
      }),
    )
    await paged.insert('sink_paged.events', rows)
    const filter = storedIds(paged, { page: 7 })
    const all = Array.from({ length: 50 }, (_, i) => i)
    expect(await filter.candidates(encodeEvents(rows), all)).toEqual(all)
    expect(filter.held()).toBe(50)
    expect(filter.complete()).toBe(true)
  })

  it('gives up holding ids beyond its bound, and still answers every event the same', async () => {
    const filter = storedIds(bounded, { maxHeld: 40 })
    const sink = createClickHouseSink(bounded)
    const first = Array.from({ length: 30 }, () => presentedRow({ tenant: 'bounded' }))
    expect((await sink.write({ rows: first, rejected: [] })).inserted).toBe(30)
    expect(filter.complete()).toBe(true)
    const second = Array.from({ length: 30 }, () => presentedRow({ tenant: 'bounded' }))
    expect((await sink.write({ rows: second, rejected: [] })).inserted).toBe(30)
    // 60 ids: more than it may hold. Every event is looked up in ClickHouse from now on.
    expect(filter.complete()).toBe(false)
    expect(filter.held()).toBe(0)
    const all = Array.from({ length: 30 }, (_, i) => i)
    expect(await filter.candidates(encodeEvents(first), all)).toEqual(all)
    const moved = first.map((r, i) => ({
      ...r,
      client_id: 'another-client',
      occurred_at: toDateTime64(Date.now() - (i + 1) * DAY_MS),
    }))
    const fresh = presentedRow({ tenant: 'bounded' })
    expect(await sink.write({ rows: [...moved, fresh], rejected: [] })).toEqual({
      inserted: 1,
      duplicates: 30,
      duplicateLines: all,
      rejected: 0,
    })
    expect(await counts('sink_bounded', 'bounded')).toEqual({ rows: 61, rollup: 61 })
  })

  it('answers another event under a stored id duplicate, at any distance in time', async () => {
    const sink = createClickHouseSink(storage)
    const rows = Array.from({ length: 12 }, () => presentedRow({ tenant: 'moved' }))
    await sink.write({ rows, rejected: [] })
    const shifts = [1, HOUR_MS, 3 * HOUR_MS, DAY_MS, 40 * DAY_MS, -1, -3 * HOUR_MS, -40 * DAY_MS]
    const moved = rows.map((r, i) => ({
      ...r,
      client_id: 'another-client',
      occurred_at: toDateTime64(
        Date.parse(`${r.occurred_at.replace(' ', 'T')}Z`) + shifts[i % shifts.length]!,
      ),
    }))
    const all = Array.from({ length: 12 }, (_, i) => i)
    expect(await sink.write({ rows: moved, rejected: [] })).toEqual({
      inserted: 0,
      duplicates: 12,
      duplicateLines: all,
      rejected: 0,
    })
    expect(await counts('sink_dedup', 'moved')).toEqual({ rows: 12, rollup: 12 })
  })
})

describe('received_at', () => {
  async function storedReceivedAt(tenant: string): Promise<string> {
    const rs = await storage.client.query({
      query: 'SELECT toString(received_at) AS r FROM sink_dedup.events WHERE tenant = {t:String}',
      query_params: { t: tenant },
      format: 'JSONEachRow',
    })
    return (await rs.json<{ r: string }>())[0]!.r
  }

  it('is stamped again when the rows are inserted, so a queued row lands in an open window', async () => {
    const sink = createClickHouseSink(storage)
    const queued = { ...presentedRow({ tenant: 'stamp' }), received_at: '2026-01-01 00:00:00.000' }
    const before = toDateTime64(Date.now())
    await sink.write({ rows: [queued], rejected: [] })
    expect((await storedReceivedAt('stamp')) >= before).toBe(true)
    // The row handed in is left as it was (the detector sees the rows of the chunk).
    expect(queued.received_at).toBe('2026-01-01 00:00:00.000')
  })

  it('never moves back', async () => {
    const later = {
      ...presentedRow({ tenant: 'stamp-later' }),
      received_at: '2099-01-01 00:00:00.000',
    }
    await createClickHouseSink(storage).write({ rows: [later], rejected: [] })
    expect(await storedReceivedAt('stamp-later')).toBe('2099-01-01 00:00:00.000')
  })
})

describe('the scalable Bloom filter', () => {
  it('never forgets a key it was given, across the layers it grows', () => {
    const bloom = new ScalableBloom(1024)
    for (let i = 0; i < 20_000; i++) bloom.add(`tenant\u0000id-${i}`)
    expect(bloom.size).toBe(20_000)
    for (let i = 0; i < 20_000; i++) expect(bloom.has(`tenant\u0000id-${i}`)).toBe(true)
  })

  it('rarely claims a key it was never given', () => {
    const bloom = new ScalableBloom(1024, 1e-3)
    for (let i = 0; i < 20_000; i++) bloom.add(`id-${i}`)
    let wrong = 0
    for (let i = 0; i < 100_000; i++) if (bloom.has(`other-${i}`)) wrong += 1
    // Five layers at 1e-3 each: at most about 0.5%; 2% leaves room for chance.
    expect(wrong).toBeLessThan(2000)
    expect(new ScalableBloom().has('anything')).toBe(false)
  })
})
