import { mkdirSync, mkdtempSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createInsertJournal } from '../../src/pipeline/insert-journal.js'
import { createClickHouseSink } from '../../src/pipeline/sink.js'
import {
  ENCODED_COLUMNS,
  encodeEvents,
  observeEventInserts,
  type EventIdentities,
} from '../../src/storage/events-store.js'
import { migrate } from '../../src/storage/migrate.js'
import { presentedRow } from '../helpers/events.js'
import {
  closeTestStorages,
  eventCounts,
  everyCount,
  RETENTION,
  testStorage,
} from '../helpers/storage.js'

const DB = 'journal_test'
const storage = testStorage(DB)

const rows = (tenant: string, n: number) =>
  Array.from({ length: n }, () => presentedRow({ tenant }))

async function command(query: string) {
  await storage.client.command({ query })
}

/**
 * A materialized view of this test on `events` that fails while `failing` holds a row: an insert
 * then stores its events, and the views the engine runs after this one miss them, as when the
 * process is killed between the parts of one insert (each test checks that some rollup missed).
 */
async function failingView() {
  await command(`CREATE TABLE ${DB}.failing (on UInt8) ENGINE = Memory`)
  await command(
    `CREATE TABLE ${DB}.failing_target (n UInt64) ENGINE = MergeTree ORDER BY n
     SETTINGS non_replicated_deduplication_window = 1000`,
  )
  await command(
    `CREATE MATERIALIZED VIEW ${DB}.failing_mv TO ${DB}.failing_target AS
     SELECT count() + throwIf((SELECT count() FROM ${DB}.failing) > 0) AS n FROM ${DB}.events`,
  )
}
const fail = (on: boolean) =>
  command(on ? `INSERT INTO ${DB}.failing VALUES (1)` : `TRUNCATE TABLE ${DB}.failing`)

beforeAll(async () => {
  await command(`CREATE DATABASE IF NOT EXISTS ${DB}`)
  await migrate(storage, { retention: RETENTION })
  await failingView()
})
afterAll(closeTestStorages)

describe('an insert into events that failed after events took it', () => {
  it('is sent again by the next write, so every rollup counts its events once', async () => {
    const sink = createClickHouseSink(storage)
    const first = rows('retried', 40)
    await fail(true)
    await expect(sink.write({ rows: first, rejected: [] })).rejects.toThrow(/ClickHouse error/)
    // The condition this guards against: the events are stored, some rollups lack them.
    const after = await eventCounts(storage, 'retried')
    expect(after.events).toBe(40)
    expect(Math.min(...Object.values(after))).toBe(0)

    await fail(false)
    // Read again after the failure, with new neighbours: another content, another token.
    const again = [...first.slice(5), ...rows('retried', 7)]
    expect(await sink.write({ rows: again, rejected: [] })).toEqual({
      inserted: 7,
      duplicates: 35,
      duplicateLines: Array.from({ length: 35 }, (_, i) => i),
      rejected: 0,
    })
    expect(await eventCounts(storage, 'retried')).toEqual(everyCount(47))
    // And once more: nothing is pending, nothing counts twice.
    await sink.write({ rows: first, rejected: [] })
    expect(await eventCounts(storage, 'retried')).toEqual(everyCount(47))
  })

  it('is sent again by the next process from the journal directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audtrail-journal-'))
    const first = rows('restarted', 30)
    await fail(true)
    await expect(
      createClickHouseSink(storage, { journalDir: dir }).write({ rows: first, rejected: [] }),
    ).rejects.toThrow(/ClickHouse error/)
    expect(readdirSync(dir)).toHaveLength(1)
    await fail(false)

    // A new sink (the restarted process) knows the failed insert only from its file.
    const restarted = createClickHouseSink(storage, { journalDir: dir })
    const result = await restarted.write({
      rows: [...first.slice(0, 12), ...rows('restarted', 3)],
      rejected: [],
    })
    expect(result).toEqual({
      inserted: 3,
      duplicates: 12,
      duplicateLines: Array.from({ length: 12 }, (_, i) => i),
      rejected: 0,
    })
    expect(await eventCounts(storage, 'restarted')).toEqual(everyCount(33))
    expect(readdirSync(dir)).toEqual([])
  })

  it('holds the writes while its repeat fails, and lands once it succeeds', async () => {
    const sink = createClickHouseSink(storage)
    const first = rows('held', 10)
    await fail(true)
    await expect(sink.write({ rows: first, rejected: [] })).rejects.toThrow(/ClickHouse error/)
    const next = rows('held', 4)
    // The repeat fails too: nothing of the next batch is written before it.
    await expect(sink.write({ rows: next, rejected: [] })).rejects.toThrow(/ClickHouse error/)
    expect((await eventCounts(storage, 'held')).events).toBe(10)
    await fail(false)
    expect((await sink.write({ rows: next, rejected: [] })).inserted).toBe(4)
    expect(await eventCounts(storage, 'held')).toEqual(everyCount(14))
  })
})

describe('an insert journaled by a process killed before it was sent', () => {
  it('is sent on start, its events reported to the stored-id filter like every insert', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audtrail-journal-'))
    const first = rows('never-sent', 25)
    const encoded = encodeEvents(first)
    await createInsertJournal(dir).begin({
      columns: ENCODED_COLUMNS,
      body: Buffer.from(encoded.body),
      token: 'events:never-sent',
    })
    const reported: EventIdentities[] = []
    observeEventInserts(DB, (events, lines) => {
      if (lines === undefined && events.tenants[0] === 'never-sent') reported.push(events)
    })

    const restarted = createClickHouseSink(storage, { journalDir: dir })
    expect(await restarted.write({ rows: first.slice(0, 5), rejected: [] })).toEqual({
      inserted: 0,
      duplicates: 5,
      duplicateLines: [0, 1, 2, 3, 4],
      rejected: 0,
    })
    expect(await eventCounts(storage, 'never-sent')).toEqual(everyCount(25))
    expect(reported).toHaveLength(1)
    expect(reported[0]).toEqual({
      tenants: first.map((r) => r.tenant),
      eventIds: first.map((r) => r.event_id),
    })
  })
})

/** A one-line insert whose token is its event id. */
const entry = (token: string) => ({
  columns: ['tenant', 'event_id', 'occurred_at'],
  body: Buffer.from(`["t","${token}","2026-12-06 10:00:00.000"]\n`),
  token,
})

describe('the insert journal directory', () => {
  it('drops files a process left before their rename, and renames what it cannot read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audtrail-journal-'))
    writeFileSync(join(dir, '000000000000001-1-000000000.insert.tmp'), 'half written')
    const hoursAgo = new Date(Date.now() - 2 * 3_600_000)
    utimesSync(join(dir, '000000000000001-1-000000000.insert.tmp'), hoursAgo, hoursAgo)
    // Recent: maybe another process's, still being written.
    writeFileSync(join(dir, '000000000000004-2-000000000.insert.tmp'), 'being written')
    writeFileSync(join(dir, '000000000000002-1-000000000.insert'), 'no header line')
    // A column list naming something other than events' columns is never sent.
    writeFileSync(
      join(dir, '000000000000003-1-000000000.insert'),
      `${JSON.stringify({ v: 1, table: 'events', columns: ['tenant) SELECT 1 --'], token: 't' })}\n[]\n`,
    )
    // Nor one without the columns a resend reads back (tenant, event_id, occurred_at).
    writeFileSync(
      join(dir, '000000000000005-1-000000000.insert'),
      `${JSON.stringify({ v: 1, table: 'events', columns: ['tenant', 'event_id'], token: 't' })}\n[]\n`,
    )
    writeFileSync(join(dir, 'notes.txt'), 'not an entry')
    const journal = createInsertJournal(dir)
    expect(await journal.pending()).toEqual([])
    expect(readdirSync(dir).sort()).toEqual([
      '000000000000002-1-000000000.insert.unreadable',
      '000000000000003-1-000000000.insert.unreadable',
      '000000000000004-2-000000000.insert.tmp',
      '000000000000005-1-000000000.insert.unreadable',
      'notes.txt',
    ])
  })

  it("drops a dead process's temporary file at a write once it is an hour old", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audtrail-journal-'))
    let now = Date.now()
    const journal = createInsertJournal(dir, undefined, () => now)
    expect(await journal.pending()).toEqual([])
    // A process that died while writing its entry, just before this one started: too recent to
    // drop at the start. Another one, being written when the sweep runs.
    const dead = join(dir, '000000000000001-1-000000000.insert.tmp')
    writeFileSync(dead, 'half written')
    utimesSync(dead, new Date(now), new Date(now))
    const live = join(dir, '000000000000002-2-000000000.insert.tmp')
    writeFileSync(live, 'being written')
    const temporaries = () =>
      readdirSync(dir)
        .filter((n) => n.endsWith('.tmp'))
        .sort()
    const a = await journal.begin(entry('a'))
    await journal.end(a)
    expect(temporaries()).toHaveLength(2)
    // This process's own temporary file (a write in flight) is never swept, however old.
    const instance = /-([0-9a-f]+)-[0-9]+\.insert$/.exec(a.file!)![1]!
    const own = join(dir, `000000000000003-${instance}-000000009.insert.tmp`)
    writeFileSync(own, 'being written by this process')
    // An hour and a bit later: the dead file is dropped; the one written a moment ago is kept.
    now += 3_600_000 + 1000
    utimesSync(live, new Date(now - 1000), new Date(now - 1000))
    utimesSync(own, new Date(now - 7_200_000), new Date(now - 7_200_000))
    await journal.end(await journal.begin(entry('b')))
    expect(temporaries()).toEqual([
      '000000000000002-2-000000000.insert.tmp',
      `000000000000003-${instance}-000000009.insert.tmp`,
    ])
  })

  it('removes its temporary file when an entry cannot be written, and fails the write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audtrail-journal-'))
    const now = Date.now()
    const journal = createInsertJournal(dir, undefined, () => now)
    const insert = entry('a')
    const first = await journal.begin(insert)
    // The next entry's name is taken by a directory: its rename fails.
    mkdirSync(first.file!.replace(/000000000\.insert$/, '000000001.insert'))
    await expect(journal.begin(insert)).rejects.toThrow()
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([])
  })

  it('keeps entries in the order they were begun, and forgets the ended ones', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'audtrail-journal-')), 'insert-journal')
    const writer = createInsertJournal(dir)
    const a = await writer.begin(entry('a'))
    await writer.begin(entry('b'))
    const c = await writer.begin(entry('c'))
    await writer.end(a)
    writer.fail(c)
    // Its own files are not another process's leftovers: b is in flight, c failed.
    expect((await writer.pending()).map((e) => e.insert.token)).toEqual(['c'])

    // Another process (a restart) finds both.
    const reader = createInsertJournal(dir)
    const left = await reader.pending()
    expect(left.map((e) => e.insert.token)).toEqual(['b', 'c'])
    expect(left[0]!.insert.body.toString()).toBe('["t","b","2026-12-06 10:00:00.000"]\n')
    expect(left[0]!.insert.columns).toEqual(['tenant', 'event_id', 'occurred_at'])
    await reader.end(left[0]!)
    // Read once: later calls list what is still pending in this process.
    expect((await reader.pending()).map((e) => e.insert.token)).toEqual(['c'])
    expect(readdirSync(dir)).toHaveLength(1)
    // Event data: readable by this user only.
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(statSync(join(dir, readdirSync(dir)[0]!)).mode & 0o777).toBe(0o600)
  })
})
