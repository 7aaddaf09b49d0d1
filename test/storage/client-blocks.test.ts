/**
 * Migration 0019 (client_activity_blocks): an existing database takes it with its events counted
 * once, before and after, and applied again; /v1/clients' read answers what it answered from
 * 0017's daily rollup, for every first day of the window; the daily rollups and their views are
 * gone.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { at, exampleEvents, token } from '../../src/detection/rules/lib/example-events.js'
import { assertEvent } from '../../src/events/parse.js'
import { toEventRow, type EventRow } from '../../src/events/event-row.js'
import { insertEventRows } from '../../src/storage/events-store.js'
import { loadMigrations, migrate } from '../../src/storage/migrate.js'
import type { ClientUsageRow } from '../../src/storage/repositories.js'
import { SQL_DIR } from '../../src/storage/sql.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

afterAll(closeTestStorages)

const DAY = 86_400
const DB = 'm_client_blocks'
const ev = exampleEvents('client-blocks-test')
const rowOf = (e: Record<string, unknown>, tenant = 'cb'): EventRow =>
  toEventRow(assertEvent({ ...e, tenant }), { receivedAt: Date.now() })
const API = 'https://api.example.com/v1'

/** A presentation of token `jti` by `client` at `seconds` from the base time. */
const presented = (seconds: number, jti: string, client = 'agent-7', over = {}) =>
  rowOf(
    ev.presented({
      occurred_at: at(seconds),
      client_id: client,
      token: token({ jti }),
      ...over,
    }),
  )

// Stored before 0019: three clients over five weeks, a token seen on both sides of a midnight, a
// rejected presentation at another resource, a request without a token, the other tenant.
const before = [
  rowOf(ev.issued({ occurred_at: at(-30 * DAY), token: token({ jti: 'old-1' }) })),
  presented(-30 * DAY + 60, 'old-1'),
  presented(-17 * DAY, 't-2', 'agent-9'),
  presented(-9 * DAY + 13 * 3600 + 1700, 't-3'), // 23:28 UTC
  presented(-8 * DAY - 10 * 3600 + 600, 't-3'), // 00:10 UTC the next day
  presented(-8 * DAY, 't-4', 'agent-7', {
    resource: API,
    presented_aud: [API],
    decision: 'rejected',
    reason: 'aud_mismatch',
    http: { method: 'POST', path: '/v1', status: 401 },
  }),
  rowOf(ev.authorization({ occurred_at: at(-3 * DAY), client_id: 'agent-9' })),
  presented(-2 * DAY, 't-5', 'svc-a'),
  presented(-1 * DAY, 't-3'),
  presented(0, 't-6'),
  presented(-8 * DAY, 't-3', 'agent-7', {}),
  rowOf(ev.presented({ occurred_at: at(-8 * DAY) }), 'cb-other'),
]
// Stored after: a token already counted, a new one, a new client.
const after = [presented(DAY, 't-3'), presented(DAY + 60, 't-7'), presented(2 * DAY, 't-8', 'zeta')]

/**
 * The first days of the windows asked: every third day from 40 days before the base time to 3
 * after (odd and even days, each place in a block of 4, 8, 16 and 32 days over the 15).
 */
const windows = Array.from({ length: 15 }, (_, i) => Date.parse(at((i * 3 - 40) * DAY)))

/** What the page should hold, from the stored rows themselves. */
function expected(rows: EventRow[], tenant: string, since: number) {
  const day = new Date(since).toISOString().slice(0, 10)
  const per = new Map<
    string,
    { events: number; tokens: Set<string>; rejected: number; res: Set<string> }
  >()
  for (const r of rows) {
    if (r.tenant !== tenant || r.client_id === '' || r.occurred_at.slice(0, 10) < day) continue
    const c = per.get(r.client_id) ?? { events: 0, tokens: new Set(), rejected: 0, res: new Set() }
    c.events++
    if (r.token_key !== '') c.tokens.add(r.token_key)
    const presentation = r.event_type === 'token.presented'
    if (presentation && r.decision === 'rejected') c.rejected++
    const res = presentation
      ? [r.resource_canonical]
      : r.granted_aud_canonical.length > 0
        ? r.granted_aud_canonical
        : r.requested_resources_canonical
    for (const x of res) if (x !== '') c.res.add(x)
    per.set(r.client_id, c)
  }
  return [...per.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([client_id, c]) => ({
      client_id,
      events: c.events,
      tokens: c.tokens.size,
      rejected: c.rejected,
      resources: [...c.res].sort(),
    }))
}

const figures = (rows: ClientUsageRow[]) =>
  rows.map((r) => ({
    client_id: r.client_id,
    events: Number(r.events),
    tokens: Number(r.tokens),
    rejected: Number(r.rejected),
    resources: r.resources,
  }))

describe('migration 0019: client_activity_blocks', () => {
  it('an existing database takes it: the same answers as the daily rollup, every event counted once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audtrail-migrations-'))
    cpSync(`${SQL_DIR}migrations`, dir, { recursive: true })
    const m = loadMigrations(dir).find((x) => x.name === 'create_client_activity_blocks')!
    const later = loadMigrations(dir).filter((x) => x.version >= m.version)
    for (const x of later) rmSync(join(dir, x.file))
    const storage = testStorage(DB)
    await migrate(storage, { retention: RETENTION, dir })
    await insertEventRows(storage, before)

    // Every page (two clients a page) of every window, read as before 0019.
    const old = readFileSync(
      join(import.meta.dirname, 'pre-0019/client-usage.sql'),
      'utf8',
    ).replaceAll('{{db}}', DB)
    const pages = async (read: (after: string) => Promise<ClientUsageRow[]>) => {
      const all: ClientUsageRow[] = []
      for (let after = ''; ;) {
        const page = await read(after)
        all.push(...page)
        if (page.length < 2) return all
        after = page[page.length - 1]!.client_id
      }
    }
    const answers = async (
      read: (tenant: string, since: number, after: string) => Promise<ClientUsageRow[]>,
    ) => {
      const out: ClientUsageRow[][] = []
      for (const since of windows)
        for (const tenant of ['cb', 'cb-other'])
          out.push(await pages((after) => read(tenant, since, after)))
      return out.map((rows) =>
        rows.map((r) => ({
          ...r,
          events: Number(r.events),
          tokens: Number(r.tokens),
          rejected: Number(r.rejected),
        })),
      )
    }
    const viaOld = await answers(async (tenant, since, after) => {
      const rs = await storage.client.query({
        query: old,
        query_params: {
          tenant,
          since: new Date(since).toISOString().replace('T', ' ').replace('Z', ''),
          after,
          limit: 2,
        },
        format: 'JSONEachRow',
      })
      return rs.json<ClientUsageRow>()
    })

    for (const x of later) writeFileSync(join(dir, x.file), x.template)
    const applied = (await migrate(storage, { retention: RETENTION, dir })).applied
    expect(applied).toEqual(later.map((x) => x.file))
    const read = (tenant: string, since: number, after: string) =>
      storage.catalog.clients({ tenant, since, after, limit: 2 })
    expect(await answers(read)).toEqual(viaOld)
    for (const since of windows)
      expect([since, figures(await pages((a) => read('cb', since, a)))]).toEqual([
        since,
        expected(before, 'cb', since),
      ])
    // The window of 8 days before the base time: t-3 seen on both sides of a midnight counts once.
    expect(
      figures(
        await storage.catalog.clients({ tenant: 'cb', since: Date.parse(at(-8 * DAY)), limit: 10 }),
      )[0],
    ).toMatchObject({ client_id: 'agent-7', events: 5, tokens: 3, rejected: 1 })

    // Stored after: the view keeps the blocks current. Applied again (a failure after the
    // backfill, before the ledger row): nothing twice.
    await insertEventRows(storage, after)
    await storage.client.command({
      query: `DELETE FROM ${DB}.audtrail_migrations WHERE version >= {v:UInt32}`,
      query_params: { v: m.version },
    })
    expect((await migrate(storage, { retention: RETENTION, dir })).applied).toEqual(applied)
    await insertEventRows(storage, [presented(3 * DAY, 't-9', 'zeta')])
    const all = [...before, ...after, presented(3 * DAY, 't-9', 'zeta')]
    for (const since of windows)
      for (const tenant of ['cb', 'cb-other'])
        expect([
          since,
          tenant,
          figures(
            await pages((a) => storage.catalog.clients({ tenant, since, after: a, limit: 2 })),
          ),
        ]).toEqual([since, tenant, expected(all, tenant, since)])

    // Every level holds every event once; the daily rollups and their views are gone.
    const rs = await storage.client.query({
      query: `SELECT level, sum(events) AS events FROM ${DB}.client_activity_blocks
              GROUP BY level ORDER BY level`,
      format: 'JSONEachRow',
    })
    const stored = all.filter((r) => r.client_id !== '').length
    expect(
      (await rs.json<{ level: number; events: string }>()).map((r) => [r.level, Number(r.events)]),
    ).toEqual([1, 2, 4, 8, 16, 32].map((l) => [l, stored]))
    const tables = await storage.client.query({
      query: `SELECT name FROM system.tables WHERE database = '${DB}' AND name LIKE 'client_activity%' ORDER BY name`,
      format: 'JSONEachRow',
    })
    expect(await tables.json()).toEqual([
      { name: 'client_activity_blocks' },
      { name: 'client_activity_blocks_mv' },
    ])
  }, 180_000)
})
