/**
 * Migration 0016's report tables, and the token metrics split in two queries (the counts
 * ungrouped, the per-token figures in a narrow grouping, the repeats apart), answer as the
 * queries before them did: the evidence metrics and the sources of random periods (bounds off the
 * hour marks, within one hour, on them) over events stored before the migration (its backfill) and
 * after it (its views), late events (stored after later ones), redelivered events the insert dedup
 * caught, events stored twice it did not, and opaque tokens (no iat or exp). The queries before
 * 0016 (test/reports/pre-0016/) and before the split (test/reports/pre-split/) are kept verbatim
 * and run here over the same data, through the same report code.
 */
import { randomUUID } from 'node:crypto'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toDateTime64 } from '../../src/events/event-row.js'
import { queryEventMetrics } from '../../src/reports/evidence.js'
import { querySources, SILENT_LOOKBACK_DAYS } from '../../src/reports/provenance.js'
import { migrate } from '../../src/storage/migrate.js'
import type {
  ReportScope,
  ReportSourceRow,
  Repositories,
  TokenMetricsRow,
} from '../../src/storage/repositories.js'
import { sealReportDays } from '../../src/storage/report-seal.js'
import { preSplitReports } from './pre-split/oracle.js'
import { loadQuery, quoteIdentifier, SQL_DIR } from '../../src/storage/sql.js'
import { seededRandom } from '../helpers/random.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'
import {
  API,
  authorizationRequested,
  issued,
  MCP,
  presented,
  seed,
  type Event,
} from './fixtures.js'

const storage = testStorage('reports_rollups')
const HOUR = 3_600_000
const DAY = 24 * HOUR
const START = Date.parse('2026-10-10T00:00:00.000Z')
const SPAN = 30 * HOUR
const SOURCES = [
  { kind: 'resource_server', id: 'rs-a', resource: API },
  { kind: 'resource_server', id: 'rs-b', resource: 'https://API.example.com' },
  { kind: 'mcp_server', id: 'mcp-1', resource: MCP },
  { kind: 'mcp_server', id: 'mcp-2', resource: `${MCP}/` },
]
const iso = (ms: number) => new Date(ms).toISOString()

/** A tenant's events: tokens issued and presented over 30 hours, about 30 events an hour. */
function dataset(tenant: string, seedValue: number, span = SPAN, jtis = tenant): Event[] {
  const rnd = seededRandom(seedValue)
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!
  const events: Event[] = []
  for (let i = 0; i < 150; i++) {
    const at = START + Math.floor(rnd() * span)
    const iat = Math.floor(at / 1000)
    const exp = iat + pick([300, 1800, 3600, 7200])
    const aud = rnd() < 0.2 ? [MCP, API] : [pick(SOURCES).resource]
    const jti = `${jtis}-${i}`
    // Some opaque tokens: no iat or exp known (no lifetime, no expiry).
    const times = rnd() < 0.15 ? {} : { iat, exp }
    if (rnd() < 0.7)
      events.push(
        issued(tenant, iso(at), {
          source: { kind: 'authorization_server', id: pick(['as', 'as-2']) },
          requested_resources: rnd() < 0.2 ? [] : aud,
          granted_aud: aud,
          token: { jti, ...times, aud },
        }),
      )
    for (let k = 1 + Math.floor(rnd() * 5); k > 0; k--) {
      const source = pick(SOURCES)
      const accepted = rnd() < 0.8
      // Up to twice the lifetime: some after exp, many in another hour than the issuance.
      const when = Math.min(START + span - 1, at + Math.floor(rnd() * 2 * (exp - iat) * 1000))
      events.push(
        presented(tenant, iso(when), {
          source: { kind: source.kind, id: source.id },
          resource: source.resource,
          token: { jti, ...times, ...(rnd() < 0.1 ? {} : { aud }) },
          presented_aud: aud,
          aud_validated: rnd() < 0.9,
          decision: accepted ? 'accepted' : 'rejected',
          reason: accepted ? 'ok' : 'aud_mismatch',
          ...(source.kind === 'mcp_server' && rnd() < 0.9
            ? { tool: { method: 'tools/call', ...(rnd() < 0.9 ? { name: 't' } : {}) } }
            : {}),
        }),
      )
    }
  }
  for (let i = 0; i < 15; i++)
    events.push(
      authorizationRequested(tenant, iso(START + Math.floor(rnd() * span)), {
        requested_resources: rnd() < 0.3 ? [] : [MCP],
      }),
    )
  // Presentations without a token: in the empty key's group, counted but not loggable.
  for (let i = 0; i < 40; i++)
    events.push(
      presented(tenant, iso(START + Math.floor(rnd() * span)), {
        source: { kind: 'mcp_server', id: 'mcp-1' },
        resource: MCP,
        token: undefined,
        presented_aud: [],
        decision: 'rejected',
        reason: 'missing_token',
        tool: undefined,
      }),
    )
  // A source seen only on the first morning: silent in later periods, in their lookback.
  for (let i = 0; i < 5; i++)
    events.push(
      presented(tenant, iso(START + 3 * HOUR + i * 600_000 + 1234), {
        source: { kind: 'resource_server', id: 'rs-old' },
        resource: API,
      }),
    )
  return events
}

/** The pre-0016 queries, verbatim, bound as the repositories bound them before 0016. */
function pre0016(): Pick<Repositories, 'reports'> {
  const sql = (name: string) =>
    readFileSync(new URL(`./pre-0016/${name}.sql`, import.meta.url), 'utf8').replaceAll(
      '{{db}}',
      quoteIdentifier(storage.database),
    )
  const scopeParams = (s: ReportScope) => ({
    tenant: s.tenant,
    since: toDateTime64(s.since),
    until: toDateTime64(s.until),
  })
  const rows = async <T>(name: string, params: Record<string, unknown>) => {
    const rs = await storage.client.query({
      query: sql(name),
      query_params: params,
      format: 'JSONEachRow',
    })
    return rs.json<T>()
  }
  return {
    reports: {
      ...storage.reports,
      async tokenMetrics(scope, { clockSkewS, maxRepeated }) {
        const [row] = await rows<TokenMetricsRow>('report-token-metrics', {
          ...scopeParams(scope),
          full_from: toDateTime64(Math.ceil(scope.since / HOUR) * HOUR),
          full_to: toDateTime64(Math.floor(scope.until / HOUR) * HOUR),
          clock_skew_s: clockSkewS,
          max_repeated: maxRepeated,
        })
        return row!
      },
      sources: (scope, lookbackFrom, limit) =>
        rows<ReportSourceRow>('report-sources', {
          ...scopeParams(scope),
          lookback_from: toDateTime64(lookbackFrom),
          limit,
        }),
    },
  }
}

/** The pre-split oracle (test/reports/pre-split/oracle.ts) on this file's storage. */
function preSplit(): Pick<Repositories, 'reports'> {
  return preSplitReports(storage)
}

/** Periods: random bounds to the millisecond, and a few chosen ones. */
function periods(): [number, number][] {
  const rnd = seededRandom(99)
  const out: [number, number][] = [
    [START - DAY, START + SPAN + DAY], // everything, whole hours only
    [START + 5 * HOUR, START + 26 * HOUR], // on hour marks
    [START + 5 * HOUR + 1, START + 26 * HOUR - 1], // one millisecond off them
    [START + 9 * HOUR + 60_000, START + 9 * HOUR + 3_000_000], // part of one hour
    [START + 3 * HOUR + 600_000 + 1234, START + 3 * HOUR + 600_000 + 1235], // one event's instant
    [START + 20 * HOUR + 1_234_567, START + 21 * HOUR + 7_654], // across one hour mark
  ]
  for (let i = 0; i < 8; i++) {
    const since = START - HOUR + Math.floor(rnd() * (SPAN + HOUR))
    out.push([since, since + 1 + Math.floor(rnd() * (START + SPAN + HOUR - since))])
  }
  return out
}

const SEALED_SPAN = 3 * DAY + 5 * HOUR
const sealedEvents: Event[] = []
const clean: Event[] = []
const doubled: Event[] = []
/** Events of tenant `dups` stored twice after 0016 (in batches the insert dedup does not know). */
let twice: Event[] = []

beforeAll(async () => {
  // Before 0016: the first batches are stored; 0016 backfills them, its views take the rest.
  const dir = mkdtempSync(join(tmpdir(), 'audtrail-migrations-'))
  cpSync(`${SQL_DIR}migrations`, dir, { recursive: true })
  // 0016 and every migration after it (a later one may not come without 0016).
  for (const file of readdirSync(dir)) if (file >= '0016_') rmSync(join(dir, file))
  await migrate(storage, { retention: RETENTION, dir })
  rmSync(dir, { recursive: true, force: true })

  clean.push(...dataset('clean', 5))
  doubled.push(...dataset('dups', 6))
  const shuffled = (events: Event[], s: number) => {
    const rnd = seededRandom(s)
    return events
      .map((e) => [rnd(), e] as const)
      .sort((a, b) => a[0] - b[0])
      .map(([, e]) => e)
  }
  const split = (events: Event[], s: number) => {
    const all = shuffled(events, s)
    const n = all.length
    // before the migration, after it, and late: stored last whatever their times
    return [all.slice(0, n * 0.5), all.slice(n * 0.5, n * 0.85), all.slice(n * 0.85)]
  }
  const [cleanBefore, cleanAfter, cleanLate] = split(clean, 1)
  const [dupsBefore, dupsAfter, dupsLate] = split(doubled, 2)
  await seed(storage, [...cleanBefore!, ...dupsBefore!])
  // Stored twice before 0016: token_usage_hourly keeps both, events merges them (here at once,
  // so that the backfill reads one of each whatever the background merges did).
  await seed(storage, dupsBefore!.slice(0, 8))
  await storage.client.command({ query: `OPTIMIZE TABLE ${storage.database}.events FINAL` })

  await migrate(storage, { retention: RETENTION })
  await seed(storage, cleanAfter!)
  await seed(storage, cleanAfter!) // the same batch again: the insert dedup drops it
  await seed(storage, dupsAfter!)
  await seed(storage, cleanLate!)
  await seed(storage, dupsLate!)
  twice = [...dupsAfter!.slice(0, 6), ...dupsLate!.slice(0, 4)]
  await seed(storage, twice) // stored twice, after 0016

  // Sealed days (0020): two tenants over three days and five hours, with the same token ids; a
  // few of `sealed`'s events stored twice (a repeat inside a day the job will seal).
  sealedEvents.push(...dataset('sealed', 7, SEALED_SPAN, 'shared'))
  await seed(storage, shuffled(sealedEvents, 3))
  await seed(storage, sealedEvents.slice(0, 3))
  await seed(storage, dataset('twin', 7, SEALED_SPAN, 'shared'))
}, 120_000)
afterAll(() => closeTestStorages())

const scopes = periods().flatMap(([since, until]) =>
  ['clean', 'dups'].map((tenant) => [tenant, iso(since), iso(until)] as const),
)

describe('the report tables of migration 0016', () => {
  it.each(scopes)(
    'give the metrics the queries before them gave: %s, %s .. %s',
    async (tenant, since, until) => {
      const scope = { tenant, since: Date.parse(since), until: Date.parse(until) }
      const { final, ...now } = await queryEventMetrics(storage, scope)
      // as the one query that grouped every token with all its figures gave them
      const { final: finalSplit, ...split } = await queryEventMetrics(preSplit(), scope)
      expect({ ...now, final }).toEqual({ ...split, final: finalSplit })
      const { final: finalBefore, ...before } = await queryEventMetrics(pre0016(), scope)
      expect(now).toEqual(before)
      // Counted again with FINAL over the whole period (as beyond MAX_REPEATED_TOKENS): the same.
      const whole = await queryEventMetrics(storage, scope, { maxRepeatedTokens: 0 })
      expect({ ...whole, final: final }).toEqual({ ...now, final })
      // Repeats are detected (and counted again, each once) in the tenant that has them only.
      if (tenant === 'clean') expect([final, finalBefore]).toEqual([false, false])
    },
  )

  it.each(scopes.filter(([tenant]) => tenant === 'clean'))(
    'give the sources the query before them gave: %s, %s .. %s',
    async (tenant, since, until) => {
      const scope = { tenant, since: Date.parse(since), until: Date.parse(until) }
      expect(await querySources(storage, scope)).toEqual(await querySources(pre0016(), scope))
    },
  )

  it('count an event stored twice twice among the sources, as events does until a merge', async () => {
    const scope = { tenant: 'dups', since: START - DAY, until: START + SPAN + DAY }
    const { reporting } = await querySources(storage, scope)
    const stored = new Map<string, number>()
    for (const e of [...doubled, ...twice]) {
      const { kind, id } = e.source as { kind: string; id: string }
      stored.set(`${kind}/${id}`, (stored.get(`${kind}/${id}`) ?? 0) + 1)
    }
    expect(new Map(reporting.map((s) => [`${s.kind}/${s.id}`, s.events]))).toEqual(stored)
  })

  it('hold data that exercises them', async () => {
    const whole = { since: START - DAY, until: START + SPAN + DAY }
    const dups = await queryEventMetrics(storage, { tenant: 'dups', ...whole })
    expect(dups.final).toBe(true)
    expect(dups.events).toBe(doubled.length)
    const m = await queryEventMetrics(storage, { tenant: 'clean', ...whole })
    expect(m.events).toBe(clean.length)
    expect(m.cross_audience_replays).toBeGreaterThan(0)
    expect(m.multi_audience_tokens).toBeGreaterThan(0)
    expect(m.expired_tokens_accepted).toBeGreaterThan(0)
    // opaque tokens: no lifetime, no exp
    expect(m.tokens_with_lifetime).toBeGreaterThan(0)
    expect(m.tokens_with_lifetime).toBeLessThan(m.tokens_with_aud)
    expect(dups.tokens_with_lifetime).toBeLessThan(dups.tokens_with_aud)
    expect(m.loggable_presentations).toBeLessThan(m.presentations)
    expect(m.complete_presentations).toBeLessThan(m.loggable_presentations)
    expect(m.accepted_validated).toBeLessThan(m.accepted)
    expect(m.token_requests_with_resource).toBeLessThan(m.token_requests)
    expect(m.mcp_presentations).toBeLessThan(m.presentations)
    const later = { tenant: 'clean', since: START + 12 * HOUR, until: START + 24 * HOUR }
    const { silent } = await querySources(storage, later)
    expect(silent.map((s) => s.id)).toEqual(['rs-old'])
    expect(SILENT_LOOKBACK_DAYS).toBeGreaterThan(1)
  })
})

/** The sealed days a report over [since, until) of the tenant would use, and their conflicts. */
async function sealedState(tenant: string, since: number, until: number) {
  const q = async (name: string, params: Record<string, unknown>) => {
    const rs = await storage.client.query({
      query: loadQuery(name, storage.database),
      query_params: params,
      format: 'JSONEachRow',
    })
    return (await rs.json<{ day: string; seal_id?: string }>()).map((r) => r)
  }
  const isoDay = (ms: number) => iso(ms).slice(0, 10)
  const current = await q('report-sealed-days', {
    tenant,
    day_from: isoDay(Math.ceil(since / DAY) * DAY),
    day_to: isoDay(Math.floor(until / DAY) * DAY),
    clock_skew_s: 60,
  })
  const conflicts =
    current.length === 0
      ? []
      : await q('report-sealed-conflicts', {
          tenant,
          since: toDateTime64(since),
          until: toDateTime64(until),
          full_from: toDateTime64(Math.ceil(since / HOUR) * HOUR),
          full_to: toDateTime64(Math.floor(until / HOUR) * HOUR),
          sealed_days: current.map((d) => d.day),
          sealed_ids: current.map((d) => BigInt(d.seal_id!)),
        })
  return { current: current.map((d) => d.day), conflicts: conflicts.map((d) => d.day) }
}

/** Periods over the sealed tenants' days: whole days, off them by a millisecond, random. */
function sealedPeriods(): [number, number][] {
  const rnd = seededRandom(17)
  const out: [number, number][] = [
    [START - DAY, START + 5 * DAY], // everything
    [START, START + 3 * DAY], // on day marks
    [START + 1, START + 3 * DAY - 1], // a millisecond inside them
    [START + DAY + 5 * HOUR + 123, START + 3 * DAY + 2 * HOUR], // partial days at both ends
    [START + DAY, START + 2 * DAY], // one day
  ]
  for (let i = 0; i < 5; i++) {
    const since = START - HOUR + Math.floor(rnd() * (SEALED_SPAN + HOUR))
    out.push([since, since + 1 + Math.floor(rnd() * (START + SEALED_SPAN + HOUR - since))])
  }
  return out
}

/** Every sealed period of both tenants gives the metrics the grouped query (pre-split) gives. */
async function expectSameAsGrouped() {
  for (const tenant of ['sealed', 'twin'])
    for (const [since, until] of sealedPeriods()) {
      const scope = { tenant, since, until }
      // `final` aside: the grouped query read the partial hours without FINAL, so a repeat
      // there that no merge collapsed yet sent it to the recount; the metrics are the same.
      const { final, ...now } = await queryEventMetrics(storage, scope)
      const { final: recounted, ...grouped } = await queryEventMetrics(preSplit(), scope)
      if (final) expect(recounted).toBe(true)
      expect({ tenant, since: iso(since), until: iso(until), ...now }).toEqual({
        tenant,
        since: iso(since),
        until: iso(until),
        ...grouped,
      })
    }
}

describe('sealed days (migration 0020)', () => {
  const all = [START - DAY, START + 5 * DAY] as const
  const days = ['2026-10-10', '2026-10-11', '2026-10-12', '2026-10-13']

  it('before the job runs: no day sealed, the metrics as the grouped query gives them', async () => {
    expect(await sealedState('sealed', ...all)).toEqual({ current: [], conflicts: [] })
    await expectSameAsGrouped()
  }, 300_000)

  it('after the job: every day sealed and used, the metrics unchanged, tokens spanning days included', async () => {
    const now = Date.now()
    expect(
      (await sealReportDays(storage, { tenant: 'sealed', now, clockSkewS: 60 })).sealed,
    ).toEqual(days)
    expect((await sealReportDays(storage, { tenant: 'twin', now, clockSkewS: 60 })).sealed).toEqual(
      days,
    )
    // Nothing left to seal: a second run seals nothing.
    expect(
      (await sealReportDays(storage, { tenant: 'sealed', now, clockSkewS: 60 })).sealed,
    ).toEqual([])
    expect(await sealedState('sealed', ...all)).toEqual({ current: days, conflicts: [] })
    // Another clock skew than the seals': no day used.
    const rs = await storage.client.query({
      query: loadQuery('report-sealed-days', storage.database),
      query_params: { tenant: 'sealed', day_from: days[0], day_to: '2026-10-14', clock_skew_s: 61 },
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([])
    // The data has tokens spanning days and tokens within one, and a repeat inside a sealed day.
    const spans = await storage.client.query({
      query: `SELECT spanning, count() AS n FROM ${storage.database}.report_sealed_tokens
              WHERE tenant = 'sealed' GROUP BY spanning ORDER BY spanning`,
      format: 'JSONEachRow',
    })
    const counts = await spans.json<{ spanning: number; n: string }>()
    expect(counts.map((c) => c.spanning)).toEqual([0, 1])
    expect(counts.every((c) => Number(c.n) > 5)).toBe(true)
    expect(
      (await queryEventMetrics(storage, { tenant: 'sealed', since: all[0], until: all[1] })).final,
    ).toBe(true)
    await expectSameAsGrouped()
  }, 300_000)

  it('late, redelivered and repeated events for sealed days: those days read from the rollup, the other tenant untouched', async () => {
    // A token whose events all lie in the first day, presented again on the third (late).
    const byJti = new Map<string, number[]>()
    for (const e of sealedEvents) {
      const jti = (e.token as { jti?: string } | undefined)?.jti
      if (jti) byJti.set(jti, [...(byJti.get(jti) ?? []), Date.parse(e.occurred_at as string)])
    }
    const [jti] = [...byJti].find(([, ts]) =>
      ts.every((t) => t >= START && t < START + DAY - 4 * HOUR),
    )!
    const presentedOnce = sealedEvents.find(
      (e) => e.event_type === 'token.presented' && (e.token as { jti?: string }).jti === jti,
    )!
    const late = {
      ...presentedOnce,
      event_id: randomUUID(),
      occurred_at: iso(START + 2 * DAY + 7 * HOUR + 5),
    }
    // Redelivered: an event of the second day stored again (a new batch: not deduplicated).
    const second = sealedEvents.find((e) => {
      const t = Date.parse(e.occurred_at as string)
      return t >= START + DAY && t < START + 2 * DAY
    })!
    // A new event for the sealed last day.
    const last = presented('sealed', iso(START + 3 * DAY + HOUR), {
      source: { kind: 'mcp_server', id: 'mcp-1' },
      resource: MCP,
    })
    await seed(storage, [late, second, last])

    const state = await sealedState('sealed', ...all)
    expect(state).toEqual({ current: ['2026-10-10'], conflicts: ['2026-10-10'] })
    expect(await sealedState('twin', ...all)).toEqual({ current: days, conflicts: [] })
    await expectSameAsGrouped()

    // The job seals the changed days again, and the first day, whose token now spans days.
    const { sealed } = await sealReportDays(storage, {
      tenant: 'sealed',
      now: Date.now(),
      clockSkewS: 60,
    })
    expect([...sealed].sort()).toEqual(days)
    expect(await sealedState('sealed', ...all)).toEqual({ current: days, conflicts: [] })
    await expectSameAsGrouped()
    // Older seals' token rows are gone: the latest seal of each day and the one before it (for
    // a report that chose it a moment before) remain.
    const seals = await storage.client.query({
      query: `SELECT day, uniqExact(seal_id) AS n FROM ${storage.database}.report_sealed_tokens
              WHERE tenant = 'sealed' GROUP BY day ORDER BY day`,
      format: 'JSONEachRow',
    })
    expect((await seals.json<{ n: string }>()).map((r) => Number(r.n))).toEqual([2, 2, 2, 2])
    // A late event for the first day: a third seal of it, which drops the first one's rows.
    await seed(storage, [
      presented('sealed', iso(START + 5 * HOUR), {
        source: { kind: 'mcp_server', id: 'mcp-1' },
        resource: MCP,
      }),
    ])
    expect(
      (await sealReportDays(storage, { tenant: 'sealed', now: Date.now(), clockSkewS: 60 })).sealed,
    ).toEqual(['2026-10-10'])
    const first = await storage.client.query({
      query: `SELECT uniqExact(seal_id) AS n FROM ${storage.database}.report_sealed_tokens
              WHERE tenant = 'sealed' AND day = '2026-10-10'`,
      format: 'JSONEachRow',
    })
    expect((await first.json<{ n: string }>()).map((r) => Number(r.n))).toEqual([2])
    await expectSameAsGrouped()
  }, 300_000)
})
