/**
 * Migration 0017 (token_locations, client_activity_daily_fine): an existing database takes it with its events found, none
 * counted twice, and the view keeps it current; a token's timeline is read through it.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { API, at, exampleEvents, MCP, token } from '../../src/detection/rules/lib/example-events.js'
import { assertEvent } from '../../src/events/parse.js'
import { toEventRow, type EventRow } from '../../src/events/event-row.js'
import { insertEventRows } from '../../src/storage/events-store.js'
import { loadMigrations, migrate } from '../../src/storage/migrate.js'
import { SQL_DIR } from '../../src/storage/sql.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

afterAll(closeTestStorages)

const HOUR = 3600
const ev = exampleEvents('token-locations-test')
const rowOf = (e: Record<string, unknown>, tenant = 'loc'): EventRow =>
  toEventRow(assertEvent({ ...e, tenant }), { receivedAt: Date.now() })

/** Presentations of at-1 by agent-7 over three hours, one at another resource and rejected. */
const presented = (seconds: number, over: Record<string, unknown> = {}) =>
  rowOf(ev.presented({ occurred_at: at(seconds), ...over }))

describe('migration 0017: token_locations', () => {
  it('an existing database takes it: every event of a token found once, before and after, and again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audtrail-migrations-'))
    cpSync(`${SQL_DIR}migrations`, dir, { recursive: true })
    // Up to 0018: 0019 replaces both daily client rollups compared below (client-blocks.test.ts).
    for (const x of loadMigrations(dir).filter((x) => x.version >= 19)) rmSync(join(dir, x.file))
    const m = loadMigrations(dir).find((x) => x.name === 'create_api_lookup_tables')!
    const later = loadMigrations(dir).filter((x) => x.version >= m.version)
    for (const x of later) rmSync(join(dir, x.file))
    const storage = testStorage('m_token_locations')
    await migrate(storage, { retention: RETENTION, dir })

    // Stored before 0017: at-1 issued, presented in two hours (one presentation stored twice: a
    // redelivery), by a second client too (a replay), exchanged into hop-1 by svc-a; the other
    // tenant's at-1.
    const issued = rowOf(ev.issued({ occurred_at: at(0) }))
    const p1 = presented(5)
    const p2 = presented(HOUR + 5, {
      resource: API,
      presented_aud: [API],
      decision: 'rejected',
      reason: 'aud_mismatch',
      http: { method: 'POST', path: '/v1', status: 401 },
    })
    const p3 = presented(HOUR + 60, { client_id: 'agent-9' })
    const exchange = rowOf(
      ev.exchanged({
        occurred_at: at(HOUR + 90),
        client_id: 'svc-a',
        subject_token: { jti: 'at-1' },
        token: token({ jti: 'hop-1', aud: [API] }),
      }),
    )
    const hop = presented(HOUR + 120, {
      client_id: 'svc-a',
      token: token({ jti: 'hop-1', aud: [MCP] }),
    })
    const otherTenant = rowOf(ev.presented({ occurred_at: at(7) }), 'loc-other')
    expect(exchange.subject_token_key).toBe(issued.token_key)
    await insertEventRows(storage, [issued, p1, p2, p3, exchange, hop, otherTenant])
    await insertEventRows(storage, [p2])

    for (const x of later) writeFileSync(join(dir, x.file), x.template)
    const applied = (await migrate(storage, { retention: RETENTION, dir })).applied
    expect(applied).toEqual(later.map((x) => x.file))

    // Stored after: the view keeps the locations current.
    const p4 = presented(2 * HOUR + 5)
    await insertEventRows(storage, [p4])
    // Applied again (a failure after the backfill, before the ledger row): nothing twice.
    await storage.client.command({
      query: 'DELETE FROM m_token_locations.audtrail_migrations WHERE version >= {v:UInt32}',
      query_params: { v: m.version },
    })
    expect((await migrate(storage, { retention: RETENTION, dir })).applied).toEqual(applied)

    const key = issued.token_key
    const ids = (rows: readonly { event_id: string }[]) => rows.map((r) => r.event_id)
    const page = await storage.events.tokenPresentations('loc', key, undefined, 100)
    expect(ids(page)).toEqual(ids([p1, p2, p3, p4]))
    expect(await storage.events.tokenSummary('loc', key, 10)).toEqual([
      {
        resource: API,
        decision: 'rejected',
        count: 1,
        first_seen: p2.occurred_at,
        last_seen: p2.occurred_at,
      },
      {
        resource: MCP,
        decision: 'accepted',
        count: 3,
        first_seen: p1.occurred_at,
        last_seen: p4.occurred_at,
      },
    ])
    expect(ids(await storage.events.tokenLifecycle('loc', key, 10))).toEqual(
      ids([issued, exchange]),
    )
    const once = await storage.events.tokenTimelineEvents('loc', key, undefined, 3, 10)
    expect([ids(once.presented), ids(once.lifecycle)]).toEqual([
      ids([p1, p2, p3]),
      ids([issued, exchange]),
    ])
    expect(ids(await storage.events.ofToken('loc', key))).toEqual(
      ids([issued, p1, p2, p3, exchange, p4]),
    )
    const chain = await storage.events.delegationChain('loc', hop.token_key)
    expect(chain.ancestors.map((l) => [l.token_key, l.subject_token_key])).toEqual([
      [hop.token_key, key],
    ])
    expect(ids(await storage.events.tokenPresentations('loc-other', key, undefined, 10))).toEqual(
      ids([otherTenant]),
    )

    // client_activity_daily_fine: 0009's rollup again in finer granules, the same figures per
    // client and day (events stored before and after, counted once; the redelivered presentation
    // counts twice in both, as `events` holds it twice until a merge).
    const activity = async (table: string) => {
      const found = await storage.client.query({
        query: `SELECT client_id, toString(day) AS day, sum(events) AS events, sum(rejected) AS rejected,
                  uniqMerge(tokens) AS tokens, arraySort(groupUniqArrayArray(resources)) AS resources
                FROM m_token_locations.${table} WHERE tenant = 'loc'
                GROUP BY client_id, day ORDER BY client_id, day`,
        format: 'JSONEachRow',
      })
      return found.json<Record<string, unknown>>()
    }
    const fine = await activity('client_activity_daily_fine')
    expect(fine).toEqual(await activity('client_activity_daily'))
    expect(fine.map((r) => [r.client_id, Number(r.events), Number(r.tokens)])).toEqual([
      ['agent-7', 5, 1],
      ['agent-9', 1, 1],
      ['svc-a', 2, 1],
    ])

    // One location per (key, client, hour, event token), whichever inserts, backfills and
    // redeliveries added it.
    const rs = await storage.client.query({
      query: `SELECT token_key, client_id, toString(hour) AS hour, event_token_key
              FROM m_token_locations.token_locations FINAL WHERE tenant = 'loc'
              ORDER BY token_key, client_id, hour, event_token_key`,
      format: 'JSONEachRow',
    })
    const hour = (r: EventRow) => `${r.occurred_at.slice(0, 13)}:00:00`
    const loc = (k: string, r: EventRow) => ({
      token_key: k,
      client_id: r.client_id,
      hour: hour(r),
      event_token_key: r.token_key,
    })
    const expected = [
      loc(key, issued),
      loc(key, p1),
      loc(key, p2),
      loc(key, p3),
      loc(key, exchange),
      loc(key, p4),
      loc(hop.token_key, exchange),
      loc(hop.token_key, hop),
    ]
    const tuple = (l: ReturnType<typeof loc>) => [
      l.token_key,
      l.client_id,
      l.hour,
      l.event_token_key,
    ]
    const order = (a: ReturnType<typeof loc>, b: ReturnType<typeof loc>) => {
      const [x, y] = [tuple(a), tuple(b)]
      const i = x.findIndex((v, j) => v !== y[j])
      return i < 0 ? 0 : x[i]! < y[i]! ? -1 : 1
    }
    const distinct = [...new Map(expected.map((l) => [JSON.stringify(l), l])).values()].sort(order)
    expect(await rs.json()).toEqual(distinct)
  })
})
