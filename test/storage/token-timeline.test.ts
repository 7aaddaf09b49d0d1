/**
 * Migration 0018 (token_timeline): an existing database takes it with every event of a token filed
 * once under each key it names, the view keeps it current, and every query of the token timeline
 * answers from it exactly what the queries of 0017 (over `events` through token_locations) answered
 * on the same data: seeded tokens with presentations, rejections, exchanges and delegation chains,
 * redelivered events, events without a token, and a second tenant with the same token keys.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API, at, exampleEvents, MCP, token } from '../../src/detection/rules/lib/example-events.js'
import { assertEvent } from '../../src/events/parse.js'
import {
  STORED_EVENT_COLUMNS,
  toDateTime64,
  toEventRow,
  type EventRow,
} from '../../src/events/event-row.js'
import { insertEventRows } from '../../src/storage/events-store.js'
import { delegationLink, walkDelegationChain } from '../../src/storage/delegation-chain.js'
import type { DelegationLinkRow } from '../../src/storage/delegation-chain.js'
import { loadMigrations, migrate } from '../../src/storage/migrate.js'
import { loadQuery, renderTemplate, SQL_DIR } from '../../src/storage/sql.js'
import {
  storedEventOf,
  summarisePresentations,
  type TimelineRow,
} from '../../src/storage/token-timeline.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'
import type { ClickHouseStorage } from '../../src/storage/client.js'

afterAll(closeTestStorages)

const DB = 'm_token_timeline'
const TENANTS = ['tl', 'tl-other'] as const
const TOKENS = 6
const HOUR = 3600
const OTHER_API = 'https://API.example.com:443/v1' // canonicalizes to API

/** A small deterministic generator (mulberry32), so a failure replays. */
function prng(seed: number) {
  let s = seed >>> 0
  return (n: number) => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (((t ^ (t >>> 14)) >>> 0) % n) as number
  }
}

/**
 * The seeded events of one tenant: per token at-i an issuance, 3 to 12 presentations by one of
 * three clients over six hours (some rejected, at two resources, one spelled otherwise), and for
 * every third token an exchange into hop-i (presented twice) and from hop-i into hop2-i (a
 * two-level chain); authorization requests, which name no token.
 */
function seed(tenant: string, seedValue: number, from: number): EventRow[] {
  const ev = exampleEvents(`token-timeline-test-${tenant}-${from}`)
  const pick = prng(seedValue)
  const row = (e: Record<string, unknown>) =>
    toEventRow(assertEvent({ ...e, tenant }), { receivedAt: Date.now() })
  const rows: EventRow[] = []
  for (let i = 0; i < TOKENS; i++) {
    const jti = `at-${i}`
    const t0 = from + pick(6 * HOUR)
    rows.push(row(ev.issued({ occurred_at: at(t0), token: token({ jti }) })))
    rows.push(row(ev.authorization({ occurred_at: at(t0 - 1) })))
    for (let p = 0, n = 3 + pick(10); p < n; p++) {
      const rejected = pick(4) === 0
      const atApi = pick(3) === 0
      const resource = atApi ? (pick(2) === 0 ? API : OTHER_API) : MCP
      rows.push(
        row(
          ev.presented({
            occurred_at: at(t0 + 1 + pick(6 * HOUR)),
            client_id: ['agent-7', 'agent-8', 'agent-9'][pick(3)],
            token: token({ jti }),
            resource,
            presented_aud: [MCP],
            ...(rejected || atApi
              ? {
                  decision: 'rejected',
                  reason: 'aud_mismatch',
                  http: { method: 'POST', path: '/v1', status: 401 },
                }
              : {}),
          }),
        ),
      )
    }
    if (i % 3 === 0) {
      const hop = `hop-${i}`
      rows.push(
        row(
          ev.exchanged({
            occurred_at: at(t0 + 60),
            client_id: 'svc-a',
            subject_token: { jti },
            token: token({ jti: hop, aud: [API] }),
            actor: { subject: 'svc-a', client_id: 'svc-a' },
          }),
        ),
        row(
          ev.exchanged({
            occurred_at: at(t0 + 120),
            client_id: 'svc-b',
            subject_token: { jti: hop },
            token: token({ jti: `hop2-${i}`, aud: [MCP] }),
          }),
        ),
      )
      for (const s of [200, HOUR + 200])
        rows.push(
          row(
            ev.presented({
              occurred_at: at(t0 + s),
              client_id: 'svc-a',
              token: token({ jti: hop, aud: [API] }),
              resource: API,
              presented_aud: [API],
            }),
          ),
        )
    }
  }
  return rows
}

/** A query of 0017 (kept in test/fixtures/timeline-0017 as it was) on this database. */
function oldQuery(name: string): string {
  const template = readFileSync(
    new URL(`../fixtures/timeline-0017/${name}.sql`, import.meta.url),
    'utf8',
  )
  return renderTemplate(template, { db: DB, stored_event_columns: STORED_EVENT_COLUMNS.join(', ') })
    .trim()
    .replace(/;$/, '')
}

async function run<T = Record<string, unknown>>(
  storage: ClickHouseStorage,
  query: string,
  params: Record<string, unknown>,
): Promise<T[]> {
  const rs = await storage.client.query({ query, query_params: params, format: 'JSONEachRow' })
  return rs.json<T>()
}

describe('migration 0018: token_timeline', () => {
  let storage: ClickHouseStorage
  /** Every row stored, in both tenants (repeats included). */
  const stored: EventRow[] = []

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audtrail-migrations-'))
    cpSync(`${SQL_DIR}migrations`, dir, { recursive: true })
    const m = loadMigrations(dir).find((x) => x.name === 'create_token_timeline')!
    const later = loadMigrations(dir).filter((x) => x.version >= m.version)
    for (const x of later) rmSync(join(dir, x.file))
    storage = testStorage(DB)
    await migrate(storage, { retention: RETENTION, dir })

    // Stored before 0018, some of it twice (a redelivery).
    const before = TENANTS.flatMap((t, i) => seed(t, 17 + i, 0))
    await insertEventRows(storage, before)
    const again = before.filter((_, i) => i % 7 === 0)
    await insertEventRows(storage, again)
    stored.push(...before, ...again)

    for (const x of later) writeFileSync(join(dir, x.file), x.template)
    const applied = (await migrate(storage, { retention: RETENTION, dir })).applied
    expect(applied).toEqual(later.map((x) => x.file))

    // Stored after: the view files them; one of them is a redelivery of an event from before.
    const after = TENANTS.flatMap((t, i) => seed(t, 41 + i, 8 * HOUR))
    await insertEventRows(storage, [...after, before[3]!])
    stored.push(...after, before[3]!)

    // Applied again (a failure after the backfill, before the ledger row): nothing twice.
    await storage.client.command({
      query: `DELETE FROM ${DB}.audtrail_migrations WHERE version >= {v:UInt32}`,
      query_params: { v: m.version },
    })
    expect((await migrate(storage, { retention: RETENTION, dir })).applied).toEqual(applied)
  })

  /** Every key a tenant's events name, and one they do not. */
  const keysOf = (tenant: string) => [
    ...new Set(
      stored
        .filter((r) => r.tenant === tenant)
        .flatMap((r) => [r.token_key, r.subject_token_key])
        .filter((k) => k !== ''),
    ),
    'no-such-key',
  ]

  it('files every event once under each key it names (FINAL), from before and after', async () => {
    const expected = new Set(
      stored.flatMap((r) =>
        [...new Set([r.token_key, r.subject_token_key])]
          .filter((k) => k !== '')
          .map((k) => `${r.tenant} ${k} ${r.event_id}`),
      ),
    )
    const found = await run<{ k: string }>(
      storage,
      `SELECT concat(tenant, ' ', timeline_key, ' ', toString(event_id)) AS k
       FROM ${DB}.token_timeline FINAL`,
      {},
    )
    expect(found.map((r) => r.k).sort()).toEqual([...expected].sort())
    // Without FINAL the repeats may still be there: the readers take each event once.
    const raw = await run<{ n: string }>(
      storage,
      `SELECT count() AS n FROM ${DB}.token_timeline`,
      {},
    )
    expect(Number(raw[0]!.n)).toBeGreaterThanOrEqual(expected.size)
  })

  it('holds in each event exactly the columns the API reads of an event', async () => {
    const found = await run<{ event: string }>(
      storage,
      `SELECT event FROM ${DB}.token_timeline LIMIT 50`,
      {},
    )
    expect(found.length).toBe(50)
    for (const r of found)
      expect(Object.keys(JSON.parse(r.event)).sort()).toEqual([...STORED_EVENT_COLUMNS].sort())
  })

  it('answers every timeline query as the queries of 0017 did, per tenant and key', async () => {
    let compared = 0
    for (const tenant of TENANTS) {
      for (const key of keysOf(tenant)) {
        const base = { tenant, key }
        // The rows of the query of 0017 and of 0018, the events of 0018 parsed from their JSON.
        const same = async (name: string, params: Record<string, unknown>, events = true) => {
          const [before, read] = await Promise.all([
            run(storage, oldQuery(name), params),
            run(storage, loadQuery(name, DB), params),
          ])
          const now = events ? read.map((r) => storedEventOf(r as unknown as TimelineRow)) : read
          expect([name, key, now]).toEqual([name, key, before])
          compared++
          return now
        }
        await same('token-events', base)
        await same('token-summary', { ...base, limit: 1001 }, false)
        await same('token-summary', { ...base, limit: 2 }, false)
        await same('token-lifecycle', { ...base, limit: 1001 })
        await same('token-lifecycle', { ...base, limit: 1 })
        // Every page of presentations, four at a time, as a client walks the cursor.
        let cursor = { cursor_at: toDateTime64(0), cursor_id: '' }
        for (;;) {
          const page = await same('token-presentations', { ...base, ...cursor, fetch: 4 })
          await same('token-timeline-events', { ...base, ...cursor, fetch: 4, limit: 2 })
          const last = page[page.length - 1] as { occurred_at: string; event_id: string }
          if (page.length < 4) break
          cursor = { cursor_at: last.occurred_at, cursor_id: last.event_id }
        }
        await same('delegation-links', { tenant, keys: [key], limit: 1001 }, false)
        // The whole chain, walked with the old links and the new.
        const walk = (sql: string) =>
          walkDelegationChain(
            async (keys, limit) =>
              (await run<DelegationLinkRow>(storage, sql, { tenant, keys, limit })).map(
                delegationLink,
              ),
            key,
          )
        expect(await storage.events.delegationChain(tenant, key)).toEqual(
          await walk(oldQuery('delegation-links')),
        )
      }
    }
    expect(compared).toBeGreaterThan(100)
  }, 300_000)

  it('summarises a page holding every presentation as token-summary.sql does', async () => {
    for (const tenant of TENANTS) {
      for (const key of keysOf(tenant)) {
        const { presented } = await storage.events.tokenTimelineEvents(
          tenant,
          key,
          undefined,
          1000,
          10,
        )
        for (const limit of [1001, 1])
          expect([key, summarisePresentations(presented, limit)]).toEqual([
            key,
            await storage.events.tokenSummary(tenant, key, limit),
          ])
      }
    }
  }, 120_000)

  it('counts a redelivered presentation once, and shows one tenant only its own events', async () => {
    for (const tenant of TENANTS) {
      for (const key of keysOf(tenant)) {
        const mine = stored.filter((r) => r.tenant === tenant)
        const presented = new Set(
          mine
            .filter((r) => r.token_key === key && r.event_type === 'token.presented')
            .map((r) => r.event_id),
        )
        const summary = await storage.events.tokenSummary(tenant, key, 1001)
        expect(summary.reduce((n, g) => n + g.count, 0)).toBe(presented.size)
        const events = await storage.events.ofToken(tenant, key)
        const named = new Set(
          mine
            .filter((r) => r.token_key === key || r.subject_token_key === key)
            .map((r) => r.event_id),
        )
        expect(events.map((r) => r.event_id).sort()).toEqual([...named].sort())
        expect(events.every((r) => r.tenant === tenant)).toBe(true)
      }
    }
    // The same key in both tenants, different events.
    const key = stored.find((r) => r.tenant === TENANTS[0] && r.token_jti === 'at-0')!.token_key
    expect(stored.some((r) => r.tenant === TENANTS[1] && r.token_key === key)).toBe(true)
    const [a, b] = await Promise.all(TENANTS.map((t) => storage.events.ofToken(t, key)))
    const ids = new Set(a!.map((r) => r.event_id))
    expect(a!.length).toBeGreaterThan(0)
    expect(b!.length).toBeGreaterThan(0)
    expect(b!.some((r) => ids.has(r.event_id))).toBe(false)
  }, 120_000)
})
