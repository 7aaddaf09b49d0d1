/**
 * The ClickHouse sink over a recording storage double (issue 31, the survivors of a StrykerJS run
 * on src/pipeline/sink.ts): what it looks up (ids and time range), what it inserts and with which
 * deduplication token, rejected rows, encoded batches, the replay of a failed insert before the
 * next write, the errors it maps, and ping. test/pipeline/sink.test.ts runs it on chdb.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { StorageError } from '../../src/errors.js'
import type { RejectedRow } from '../../src/events/rejected-row.js'
import { createClickHouseSink } from '../../src/pipeline/sink.js'
import type { ClickHouseConnection, Storage } from '../../src/storage/client.js'
import { clickhouseRepositories } from '../../src/storage/clickhouse-repositories.js'
import type { EventRow } from '../../src/events/event-row.js'
import { encodeEvents } from '../../src/storage/events-store.js'
import { loadQuery } from '../../src/storage/sql.js'
import { presentedRow } from '../helpers/events.js'

interface Recorded {
  storage: Storage
  queries: { query: string; query_params?: Record<string, unknown> }[]
  inserts: { table: string; rows: readonly object[]; settings: unknown }[]
  encoded: { table: string; body: string; token: unknown }[]
  /** Event keys (tenant, id) the double answers as stored. */
  stored: { tenant: string; id: string }[]
  /** How many of the next event inserts fail (as an unreachable server). */
  failInserts: number
  failQueries: boolean
  ping: () => Promise<{ success: boolean }>
}

let databases = 0
function recording(mode: 'server' | 'embedded' = 'server'): Recorded {
  const database = `sink_double_${++databases}`
  const existingQuery = loadQuery('existing-event-ids', database)
  const r: Recorded = {
    queries: [],
    inserts: [],
    encoded: [],
    stored: [],
    failInserts: 0,
    failQueries: false,
    ping: async () => ({ success: true }),
    storage: undefined as unknown as Storage,
  }
  const connection = {
    database,
    mode,
    client: {
      query: async (p: { query: string; query_params?: Record<string, unknown> }) => {
        if (r.failQueries)
          throw Object.assign(new Error('bad'), { code: '62', type: 'SYNTAX_ERROR' })
        r.queries.push({ query: p.query, query_params: p.query_params })
        const ids = (p.query_params?.ids as string[] | undefined) ?? []
        const found = p.query === existingQuery ? r.stored.filter((s) => ids.includes(s.id)) : []
        return { json: async () => found }
      },
      ping: () => r.ping(),
    },
    insert: async (table: string, rows: readonly object[], settings?: unknown) => {
      if (r.failQueries)
        throw Object.assign(new Error('bad'), { code: '60', type: 'UNKNOWN_TABLE' })
      r.inserts.push({ table, rows, settings })
    },
    insertEncoded: async (
      table: string,
      _columns: readonly string[],
      body: Uint8Array,
      settings?: { insert_deduplication_token?: string },
    ) => {
      if (r.failInserts > 0) {
        r.failInserts--
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), {
          code: 'ECONNREFUSED',
        })
      }
      r.encoded.push({
        table,
        body: Buffer.from(body).toString('utf8'),
        token: settings?.insert_deduplication_token,
      })
    },
  } as unknown as ClickHouseConnection
  // The sink reaches storage through the real ClickHouse repositories over this connection.
  r.storage = { ...connection, ...clickhouseRepositories(connection) } as unknown as Storage
  return r
}

/** The token of a set of event keys as the sink derives it: sha256 of the sorted keys, one a line. */
function token(prefix: string, keys: string[]): string {
  const hash = createHash('sha256')
  if (keys.length > 0) hash.update(`${[...keys].sort().join('\n')}\n`)
  return `${prefix}:${hash.digest('base64url')}`
}
const key = (row: EventRow) => `${row.tenant}\u0000${row.event_id}`
const at = (iso: string) => new Date(iso).toISOString()

/** Rows of one tenant, occurring at the given times (not in order). */
function rows(tenant: string, times: string[]): EventRow[] {
  return times.map((t) => presentedRow({ tenant, occurred_at: at(t) }))
}

function rejected(id: string): RejectedRow {
  return { tenant: 'acme', rejection_id: id, reasons: ['bad'] } as unknown as RejectedRow
}

describe('the sink over a recording storage', () => {
  it('looks up the batch ids in their tenant, whatever their times, then inserts them with the token of their keys', async () => {
    const r = recording()
    const batch = rows('t1', [
      '2026-03-01T10:00:05Z',
      '2026-03-01T10:00:09Z',
      '2026-03-01T10:00:01Z',
    ])
    const result = await createClickHouseSink(r.storage).write({ rows: batch, rejected: [] })
    expect(result).toEqual({ inserted: 3, duplicates: 0, duplicateLines: [], rejected: 0 })
    expect(r.queries).toEqual([
      {
        query: loadQuery('existing-event-ids', r.storage.database),
        query_params: { tenants: ['t1'], ids: batch.map((b) => b.event_id) },
      },
    ])
    expect(r.inserts).toEqual([])
    expect(r.encoded).toHaveLength(1)
    expect(r.encoded[0]!.table).toBe(`${r.storage.database}.events`)
    expect(r.encoded[0]!.token).toBe(token('events', batch.map(key)))
    expect(r.encoded[0]!.body.trim().split('\n')).toHaveLength(3)
  })

  it('gives the same set of events the same token in any order, and another set another one', async () => {
    const batch = rows('t2', ['2026-03-01T10:00:00Z', '2026-03-01T10:00:01Z'])
    const a = recording()
    const b = recording()
    const c = recording()
    await createClickHouseSink(a.storage).write({ rows: batch, rejected: [] })
    await createClickHouseSink(b.storage).write({ rows: [...batch].reverse(), rejected: [] })
    await createClickHouseSink(c.storage).write({ rows: batch.slice(0, 1), rejected: [] })
    expect(a.encoded[0]!.token).toBe(b.encoded[0]!.token)
    expect(c.encoded[0]!.token).not.toBe(a.encoded[0]!.token)
  })

  it('inserts only the events not stored yet, with the token of those alone', async () => {
    const r = recording()
    const batch = rows('t3', [
      '2026-03-01T10:00:00Z',
      '2026-03-01T10:00:01Z',
      '2026-03-01T10:00:02Z',
    ])
    r.stored = [{ tenant: 't3', id: batch[1]!.event_id }]
    const result = await createClickHouseSink(r.storage).write({ rows: batch, rejected: [] })
    expect(result).toEqual({ inserted: 2, duplicates: 1, duplicateLines: [1], rejected: 0 })
    expect(r.encoded).toHaveLength(1)
    expect(r.encoded[0]!.token).toBe(token('events', [key(batch[0]!), key(batch[2]!)]))
    expect(r.encoded[0]!.body).not.toContain(batch[1]!.event_id)
  })

  it('inserts nothing when every event is stored', async () => {
    const r = recording()
    const batch = rows('t4', ['2026-03-01T10:00:00Z'])
    r.stored = [{ tenant: 't4', id: batch[0]!.event_id }]
    expect(await createClickHouseSink(r.storage).write({ rows: batch, rejected: [] })).toEqual({
      inserted: 0,
      duplicates: 1,
      duplicateLines: [0],
      rejected: 0,
    })
    expect(r.encoded).toEqual([])
  })

  it('takes a batch already encoded as it takes rows', async () => {
    const r = recording()
    const batch = rows('t5', ['2026-03-01T10:00:00Z', '2026-03-01T10:00:01Z'])
    const result = await createClickHouseSink(r.storage).write({
      rows: encodeEvents(batch),
      rejected: [],
    })
    expect(result).toEqual({ inserted: 2, duplicates: 0, duplicateLines: [], rejected: 0 })
    expect(r.encoded[0]!.token).toBe(token('events', batch.map(key)))
  })

  it('stores rejected rows in rejected_events with the token of their rejection ids', async () => {
    const r = recording()
    const refused = [rejected('r-2'), rejected('r-1')]
    const result = await createClickHouseSink(r.storage).write({ rows: [], rejected: refused })
    expect(result).toEqual({ inserted: 0, duplicates: 0, duplicateLines: [], rejected: 2 })
    expect(r.inserts).toEqual([
      {
        table: `${r.storage.database}.rejected_events`,
        rows: refused,
        settings: { insert_deduplication_token: token('rejected', ['r-1', 'r-2']) },
      },
    ])
    expect(r.encoded).toEqual([])
  })

  it('sends a failed insert again, the same bytes and token, before the next write', async () => {
    const r = recording()
    const sink = createClickHouseSink(r.storage)
    const first = rows('t6', ['2026-03-01T10:00:00Z'])
    r.failInserts = 1
    const err = await sink.write({ rows: first, rejected: [] }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StorageError)
    expect(r.encoded).toEqual([])
    const second = rows('t6', ['2026-03-01T10:00:01Z'])
    await sink.write({ rows: second, rejected: [] })
    expect(r.encoded.map((e) => e.token)).toEqual([
      token('events', first.map(key)),
      token('events', second.map(key)),
    ])
    // A second failure later is replayed as well.
    const third = rows('t6', ['2026-03-01T10:00:02Z'])
    r.failInserts = 1
    await sink.write({ rows: third, rejected: [] }).catch(() => undefined)
    await sink.write({ rows: [], rejected: [] })
    expect(r.encoded.map((e) => e.token)).toEqual([
      token('events', first.map(key)),
      token('events', second.map(key)),
      token('events', third.map(key)),
    ])
    expect(r.encoded[0]!.body).toContain(first[0]!.event_id)
  })

  it('maps a failed lookup and a failed rejected insert to storage errors naming them', async () => {
    const r = recording()
    r.failQueries = true
    const sink = createClickHouseSink(r.storage)
    const lookup = await sink
      .write({ rows: rows('t7', ['2026-03-01T10:00:00Z']), rejected: [] })
      .catch((e: unknown) => e)
    expect(lookup).toBeInstanceOf(StorageError)
    expect((lookup as StorageError).message).toBe(
      'look up stored event ids: ClickHouse error 62 (SYNTAX_ERROR)',
    )
    const insert = await sink
      .write({ rows: [], rejected: [rejected('r-9')] })
      .catch((e: unknown) => e)
    expect((insert as StorageError).message).toBe(
      'insert into rejected_events: ClickHouse error 60 (UNKNOWN_TABLE)',
    )
  })

  it('answers ping with the server answer, and false when the server cannot be reached', async () => {
    const r = recording()
    const sink = createClickHouseSink(r.storage)
    expect(await sink.ping()).toBe(true)
    r.ping = async () => ({ success: false })
    expect(await sink.ping()).toBe(false)
    r.ping = async () => {
      throw new Error('ECONNREFUSED')
    }
    expect(await sink.ping()).toBe(false)
  })

  it('on the embedded engine, does not look up new recent events it can tell apart in memory', async () => {
    const r = recording('embedded')
    const batch = [presentedRow({ tenant: 't8' }), presentedRow({ tenant: 't8' })]
    const result = await createClickHouseSink(r.storage).write({ rows: batch, rejected: [] })
    expect(result.inserted).toBe(2)
    const existing = loadQuery('existing-event-ids', r.storage.database)
    expect(r.queries.filter((q) => q.query === existing)).toEqual([])
  })

  it("on the embedded engine, learns the ids of an earlier process's unacknowledged insert when it sends it again", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audtrail-sink-journal-'))
    try {
      const before = recording('embedded')
      const batch = [presentedRow({ tenant: 't10' }), presentedRow({ tenant: 't10' })]
      before.failInserts = 1
      await createClickHouseSink(before.storage, { journalDir: dir })
        .write({ rows: batch, rejected: [] })
        .catch(() => undefined)
      // A new process (its own stored-id filter) over the same journal.
      const after = recording('embedded')
      const sink = createClickHouseSink(after.storage, { journalDir: dir })
      await sink.write({ rows: [], rejected: [] })
      expect(after.encoded).toHaveLength(1)
      expect(after.encoded[0]!.token).toBe(token('events', batch.map(key)))
      // Its events now read as possibly stored: looked up, and found, not inserted twice.
      after.stored = batch.map((b) => ({ tenant: 't10', id: b.event_id }))
      expect(await sink.write({ rows: batch, rejected: [] })).toMatchObject({
        inserted: 0,
        duplicates: 2,
      })
      expect(after.encoded).toHaveLength(1)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('on a server, looks up every event of the batch', async () => {
    const r = recording('server')
    const batch = [presentedRow({ tenant: 't9' }), presentedRow({ tenant: 't9' })]
    await createClickHouseSink(r.storage).write({ rows: batch, rejected: [] })
    expect(r.queries.map((q) => q.query)).toEqual([
      loadQuery('existing-event-ids', r.storage.database),
    ])
  })
})
