/**
 * Migration 0020 (report_sealed_tokens, report_sealed_days): an existing database takes it with
 * every past day of every tenant sealed once from its rollup rows (none lost, none counted twice,
 * a token spanning midnight marked so in both days, a repeat kept), the days since yesterday left
 * to the job, and the report's metrics the same before and after.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { queryEventMetrics } from '../../src/reports/evidence.js'
import { loadMigrations, migrate } from '../../src/storage/migrate.js'
import { loadQuery, SQL_DIR } from '../../src/storage/sql.js'
import { preSplitReports } from '../reports/pre-split/oracle.js'
import { API, issued, MCP, presented, seed, type Event } from '../reports/fixtures.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

afterAll(closeTestStorages)

const HOUR = 3_600_000
const DAY = 24 * HOUR
const DAY1 = Date.parse('2026-10-20T00:00:00.000Z')
const iso = (ms: number) => new Date(ms).toISOString()

/** A token issued at `at` and presented at each of `uses` (ms after `at`). */
function token(tenant: string, jti: string, at: number, uses: number[], aud = [MCP]): Event[] {
  const iat = Math.floor(at / 1000)
  const t = { jti, iat, exp: iat + 3600, aud }
  return [
    issued(tenant, iso(at), { token: t, granted_aud: aud, requested_resources: aud }),
    ...uses.map((u) =>
      presented(tenant, iso(at + u), {
        source: { kind: 'resource_server', id: 'rs' },
        resource: aud[0],
        presented_aud: aud,
        token: t,
      }),
    ),
  ]
}

describe('migration 0020: sealed days', () => {
  it('an existing database takes it: each past day sealed once, nothing lost or counted twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audtrail-migrations-'))
    cpSync(`${SQL_DIR}migrations`, dir, { recursive: true })
    const m = loadMigrations(dir).find((x) => x.name === 'create_report_sealed_days')!
    const later = loadMigrations(dir).filter((x) => x.version >= m.version)
    for (const x of later) rmSync(join(dir, x.file))
    const storage = testStorage('m_sealed_days')
    await migrate(storage, { retention: RETENTION, dir })

    // Three past days: tokens within one day, one across the first midnight (presented 40 min
    // after it), one in two tenants with the same id, a presentation stored twice (a redelivery
    // in another batch); and one token today, which the backfill leaves to the job.
    const events = [
      ...token('sd', 'a', DAY1 + 2 * HOUR, [60_000, 120_000]),
      ...token('sd', 'midnight', DAY1 + DAY - 20 * 60_000, [10_000, 60 * 60_000], [API]),
      ...token('sd', 'b', DAY1 + DAY + 5 * HOUR, [1000]),
      ...token('sd', 'c', DAY1 + 2 * DAY + 9 * HOUR, [1000, 2000, 3000], [MCP, API]),
      ...token('sd', 'today', Date.now() - 60_000, [1000]),
    ]
    const other = token('sd-other', 'a', DAY1 + 2 * HOUR, [60_000])
    await seed(storage, [...events, ...other])
    const redelivered = events.find((e) => e.event_type === 'token.presented')!
    await seed(storage, [redelivered])
    const whole = { since: DAY1 - DAY, until: Date.now() + HOUR }
    const before = await queryEventMetrics(preSplitReports(storage), { tenant: 'sd', ...whole })
    const beforeOther = await queryEventMetrics(preSplitReports(storage), {
      tenant: 'sd-other',
      ...whole,
    })

    for (const x of later) writeFileSync(join(dir, x.file), x.template)
    const applied = (await migrate(storage, { retention: RETENTION, dir })).applied
    expect(applied).toEqual(later.map((x) => x.file))
    // Applied again (a failure after the backfill, before the ledger row): nothing twice.
    await storage.client.command({
      query: 'DELETE FROM m_sealed_days.audtrail_migrations WHERE version >= {v:UInt32}',
      query_params: { v: m.version },
    })
    expect((await migrate(storage, { retention: RETENTION, dir })).applied).toEqual(applied)
    rmSync(dir, { recursive: true, force: true })

    const q = async <T>(query: string) =>
      (await storage.client.query({ query, format: 'JSONEachRow' })).json<T>()
    // Each past day once, its events those of the rollup (the redelivery twice, as there).
    const days = await q<{ tenant: string; day: string; seals: string; events: string }>(
      `SELECT tenant, toString(day) AS day, count() AS seals, sum(events) AS events
       FROM m_sealed_days.report_sealed_days GROUP BY tenant, day ORDER BY tenant, day`,
    )
    const rollup = await q<{ tenant: string; day: string; events: string }>(
      `SELECT tenant, toString(toDate(hour)) AS day, sum(events) AS events
       FROM m_sealed_days.token_usage_hourly WHERE hour < toDateTime(yesterday(), 'UTC')
       GROUP BY tenant, day ORDER BY tenant, day`,
    )
    expect(days.map((d) => [d.tenant, d.day, Number(d.seals), Number(d.events)])).toEqual(
      rollup.map((r) => [r.tenant, r.day, 1, Number(r.events)]),
    )
    expect(days.map((d) => `${d.tenant} ${d.day}`)).toEqual([
      'sd 2026-10-20',
      'sd 2026-10-21',
      'sd 2026-10-22',
      'sd-other 2026-10-20',
    ])
    expect(days.map((d) => Number(d.events))).toEqual([4 + 2, 1 + 2, 4, 2])

    // One row per day and token; the token across midnight spans, in both days; the others not.
    const tokens = await q<{ day: string; spanning: number; n: string; distinct: string }>(
      `SELECT toString(day) AS day, spanning, count() AS n, uniqExact(token_hash) AS distinct
       FROM m_sealed_days.report_sealed_tokens WHERE tenant = 'sd' AND token_hash != cityHash64('')
       GROUP BY day, spanning ORDER BY day, spanning`,
    )
    expect(tokens.map((t) => [t.day, t.spanning, Number(t.n), Number(t.distinct)])).toEqual([
      ['2026-10-20', 0, 1, 1],
      ['2026-10-20', 1, 1, 1],
      ['2026-10-21', 0, 1, 1],
      ['2026-10-21', 1, 1, 1],
      ['2026-10-22', 0, 1, 1],
    ])
    // The redelivered presentation's token is kept as holding a repeat in its day.
    const repeats = await q<{ day: string; n: string }>(
      `SELECT toString(day) AS day, length(repeated_tokens) AS n
       FROM m_sealed_days.report_sealed_days WHERE tenant = 'sd' ORDER BY day`,
    )
    expect(repeats.map((r) => Number(r.n))).toEqual([1, 0, 0])

    // The report uses the sealed days and gives the metrics it gave before the migration.
    const usable = await storage.client.query({
      query: loadQuery('report-sealed-days', storage.database),
      query_params: {
        tenant: 'sd',
        day_from: '2026-10-19',
        day_to: '2026-10-23',
        clock_skew_s: 60,
      },
      format: 'JSONEachRow',
    })
    expect((await usable.json<{ day: string }>()).map((d) => d.day)).toEqual([
      '2026-10-20',
      '2026-10-21',
      '2026-10-22',
    ])
    expect(await queryEventMetrics(storage, { tenant: 'sd', ...whole })).toEqual(before)
    expect(await queryEventMetrics(storage, { tenant: 'sd-other', ...whole })).toEqual(beforeOther)
    expect(before.final).toBe(true)
    expect(before.tokens_with_aud).toBe(5)
  })
})
