import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { canonicalizeResource, compareResources } from '../../src/events/resource.js'
import { buildComplianceReport, ComplianceReport, type MetricId } from '../../src/reports/index.js'
import { queryEventMetrics } from '../../src/reports/evidence.js'
import { toDateTime64 } from '../../src/events/event-row.js'
import { migrate } from '../../src/storage/migrate.js'
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
import { seededRandom } from '../helpers/random.js'

const storage = testStorage('reports_metrics')
const SINCE = Date.parse('2026-10-01T00:00:00.000Z')
const UNTIL = Date.parse('2026-10-31T00:00:00.000Z')
const DAY = 86_400_000
const RESOURCES = [
  MCP,
  `${MCP}/`,
  'https://MCP.example.com/mcp',
  API,
  'https://other.example.com/x',
]
const LIFETIMES = [300, 600, 3600, 7200, 86_400]

/** Tokens issued (or not) and presented at assorted resources, good and bad, inside the period. */
function dataset(tenant: string, seedValue: number): Event[] {
  const rnd = seededRandom(seedValue)
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!
  const at = () => new Date(SINCE + Math.floor(rnd() * (UNTIL - SINCE))).toISOString()
  const events: Event[] = []
  for (let i = 0; i < 60; i++) {
    const aud = rnd() < 0.2 ? [MCP, API] : [pick(RESOURCES)]
    const issuedAt = at()
    const iat = Math.floor(Date.parse(issuedAt) / 1000)
    const exp = iat + pick(LIFETIMES)
    const jti = `${tenant}-tok-${i}`
    if (rnd() < 0.7)
      events.push(
        issued(tenant, issuedAt, {
          requested_resources: rnd() < 0.25 ? [] : aud,
          granted_aud: aud,
          token: { jti, iat, exp, aud },
        }),
      )
    for (let k = 1 + Math.floor(rnd() * 4); k > 0; k--) {
      const resource = pick(RESOURCES)
      const accepted = rnd() < 0.75
      const mcp = resource.toLowerCase().includes('mcp')
      const when = new Date((iat + Math.floor(rnd() * 2 * (exp - iat))) * 1000).toISOString()
      const opaque = rnd() < 0.1
      events.push(
        presented(tenant, when, {
          source: { kind: mcp ? 'mcp_server' : 'resource_server', id: 'rs' },
          resource,
          token: { jti, iat, exp, ...(opaque ? {} : { aud }) },
          presented_aud: opaque ? [] : aud,
          aud_validated: rnd() < 0.85,
          decision: accepted ? 'accepted' : 'rejected',
          reason: accepted ? 'ok' : 'aud_mismatch',
          tool:
            rnd() < 0.1
              ? undefined
              : {
                  method: pick(['tools/call', 'tools/list']),
                  ...(rnd() < 0.9 ? { name: 't' } : {}),
                },
        }),
      )
    }
  }
  for (let i = 0; i < 10; i++)
    events.push(
      authorizationRequested(tenant, at(), { requested_resources: rnd() < 0.3 ? [] : [MCP] }),
    )
  events.push(
    presented(tenant, at(), {
      token: undefined,
      presented_aud: [],
      decision: 'rejected',
      reason: 'missing_token',
      tool: undefined,
    }),
  )
  return events
}

/** The metrics computed here from the inputs, independently of the SQL. */
function expected(events: readonly Event[]): Record<MetricId, number | null> {
  const presentations = events.filter((e) => e.event_type === 'token.presented')
  const accepted = presentations.filter((e) => e.decision === 'accepted')
  const requests = events.filter((e) => e.event_type !== 'token.presented')
  const tokenOf = (e: Event) => e.token as { jti?: string; iat?: number; exp?: number } | undefined
  const mismatch = (e: Event) => {
    const aud = e.presented_aud as string[]
    return (
      aud.length > 0 && aud.every((a) => compareResources(String(e.resource), a) === 'different')
    )
  }
  const tokens = new Map<string, Event[]>()
  for (const e of events) {
    const jti = tokenOf(e)?.jti
    if (jti) tokens.set(jti, [...(tokens.get(jti) ?? []), e])
  }
  const distinct = (xs: unknown) =>
    new Set(((xs as string[]) ?? []).map((x) => canonicalizeResource(x).canonical)).size
  const maxAud = (es: Event[]) =>
    Math.max(
      ...es.map((e) =>
        // Audiences as granted at issuance and as presented to a resource server.
        Math.max(distinct(e.granted_aud), distinct(e.presented_aud)),
      ),
    )
  const withAud = [...tokens.values()].filter((es) => maxAud(es) > 0)
  const replays = [...tokens.values()].filter((es) => {
    const p = es.filter((e) => e.event_type === 'token.presented')
    return distinct(p.map((e) => e.resource)) >= 2 && p.some(mismatch)
  })
  const acceptedTokens = [...tokens.values()].filter((es) =>
    es.some((e) => e.event_type === 'token.presented' && e.decision === 'accepted'),
  )
  const expired = acceptedTokens.filter((es) => {
    const last = Math.max(
      ...es
        .filter((e) => e.event_type === 'token.presented' && e.decision === 'accepted')
        .map((e) => Math.floor(Date.parse(String(e.occurred_at)) / 1000)),
    )
    return last - tokenOf(es[0]!)!.exp! > 60
  })
  const lifetimes = [...tokens.values()]
    .map((es) => tokenOf(es[0]!)!)
    .filter((t) => t.exp !== undefined && t.iat !== undefined)
    .map((t) => t.exp! - t.iat!)
    .sort((a, b) => a - b)
  const percentile = (p: number) => {
    const h = (lifetimes.length - 1) * p
    const lo = Math.floor(h)
    return lifetimes[lo]! + (h - lo) * ((lifetimes[lo + 1] ?? lifetimes[lo]!) - lifetimes[lo]!)
  }
  const spellings = new Map<string, Set<string>>()
  for (const e of events)
    for (const raw of [
      ...((e.requested_resources as string[]) ?? []),
      ...((e.granted_aud as string[]) ?? []),
      ...((e.presented_aud as string[]) ?? []),
      ...(e.event_type === 'token.presented' ? [String(e.resource)] : []),
    ]) {
      const key = canonicalizeResource(raw).driftKey
      if (key) spellings.set(key, (spellings.get(key) ?? new Set()).add(raw))
    }
  const loggable = presentations.filter((e) => e.reason !== 'missing_token')
  const complete = loggable.filter((e) => {
    const tool = e.tool as { method?: string; name?: string } | undefined
    const mcpOk =
      (e.source as { kind: string }).kind !== 'mcp_server' ||
      (!!tool?.method && (tool.method !== 'tools/call' || !!tool.name))
    return !!e.resource && (e.presented_aud as string[]).length > 0 && mcpOk
  })
  const ratio = (n: number, d: number) => (d > 0 ? n / d : null)
  const count = (n: number, basis: number) => (basis > 0 ? n : null)
  const withExp = acceptedTokens.filter((es) => tokenOf(es[0]!)?.exp !== undefined)
  // Sender constraint (sender-constraint.test.ts checks it on bound tokens and proofs).
  const bound = (e: Event) => (e.token as { cnf?: unknown } | undefined)?.cnf !== undefined
  const verdict = (e: Event) => (e.proof as { verdict?: string } | undefined)?.verdict
  const acceptedWithToken = accepted.filter((e) => tokenOf(e) !== undefined)
  const boundWithFacts = acceptedWithToken.filter((e) => bound(e) && verdict(e) !== undefined)
  return {
    aud_validation_coverage: ratio(
      accepted.filter((e) => e.aud_validated === true).length,
      accepted.length,
    ),
    accepted_mismatches: count(accepted.filter(mismatch).length, accepted.length),
    expired_tokens_accepted: count(expired.length, withExp.length),
    resource_indicator_coverage: ratio(
      requests.filter((e) => (e.requested_resources as string[]).length > 0).length,
      requests.length,
    ),
    multi_audience_token_share: ratio(
      withAud.filter((es) => maxAud(es) > 1).length,
      withAud.length,
    ),
    cross_audience_replays: count(replays.length, presentations.length),
    drifted_resources: count(
      [...spellings.values()].filter((s) => s.size > 1).length,
      events.length,
    ),
    token_lifetime_p50_s: lifetimes.length > 0 ? percentile(0.5) : null,
    token_lifetime_p95_s: lifetimes.length > 0 ? percentile(0.95) : null,
    logging_completeness: ratio(complete.length, loggable.length),
    token_presentations: count(presentations.length, presentations.length),
    token_requests: count(requests.length, requests.length),
    sender_constrained_token_share: ratio(
      [...tokens.values()].filter((es) => es.some(bound)).length,
      tokens.size,
    ),
    proof_of_possession_coverage: ratio(
      acceptedWithToken.filter((e) => verdict(e) === 'valid').length,
      acceptedWithToken.length,
    ),
    unproven_bound_presentations: count(
      boundWithFacts.filter((e) => verdict(e) !== 'valid').length,
      boundWithFacts.length,
    ),
  }
}

const inPeriod = (events: Event[], since: number, until: number) =>
  events.filter((e) => {
    const t = Date.parse(String(e.occurred_at))
    return t >= since && t < until
  })

let acme: Event[]
let globex: Event[]

beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
  acme = dataset('acme', 7)
  // On the last, partial day of the second period (it ends 2026-10-20T09:36Z): one resource with
  // two spellings inside it, one with a second spelling only after its end.
  const edge = (raw: string, at: string) =>
    presented('acme', at, { resource: raw, presented_aud: [raw], token: { jti: `edge-${at}` } })
  acme.push(
    edge('https://edge-a.example.com/x', '2026-10-20T05:00:00.000Z'),
    edge('https://EDGE-A.example.com/x', '2026-10-20T06:00:00.000Z'),
    edge('https://edge-b.example.com/x', '2026-10-20T05:00:00.000Z'),
    edge('https://EDGE-B.example.com/x', '2026-10-20T12:00:00.000Z'),
  )
  // Outside the period (just before since, exactly at until) and another tenant: never counted.
  const outside = [
    presented('acme', new Date(SINCE - 1).toISOString(), { aud_validated: false }),
    presented('acme', new Date(UNTIL).toISOString(), { resource: API }),
    issued('acme', new Date(UNTIL).toISOString(), { requested_resources: [] }),
  ]
  // A redelivered event counts once (the events table deduplicates by event id).
  globex = dataset('globex', 11)
  await seed(storage, [...acme, ...outside, ...globex])
  await seed(storage, acme.slice(0, 20))
})
afterAll(() => closeTestStorages())

describe('the evidence metrics', () => {
  // acme holds 20 events stored twice (its counts come from events with FINAL), globex none
  // (everything from the hourly rollup and the events of the partial hours).
  it.each(
    [
      ['whole days', SINCE, UNTIL],
      ['partial days at both ends', SINCE + 4.3 * DAY, UNTIL - 10.6 * DAY],
      ['part of one day', SINCE + 6.25 * DAY, SINCE + 6.75 * DAY],
      ['partial hours at both ends', SINCE + 6.26 * DAY, SINCE + 6.74 * DAY],
      ['part of one hour', SINCE + 6.25 * DAY + 60_000, SINCE + 6.25 * DAY + 3_000_000],
    ].flatMap(([what, since, until]) => [
      ['acme', what, since, until],
      ['globex', what, since, until],
    ]),
  )(
    'of %s equal what the events say, counted independently, over %s',
    async (tenant, _, since, until) => {
      const report = await buildComplianceReport(storage, {
        tenant: String(tenant),
        framework: 'all',
        since: Number(since),
        until: Number(until),
      })
      ComplianceReport.parse(report)
      const want = expected(
        inPeriod(tenant === 'acme' ? acme : globex, Number(since), Number(until)),
      )
      const got = Object.fromEntries(report.metrics.map((m) => [m.id, m.value]))
      for (const [id, value] of Object.entries(want))
        if (value === null) expect(got[id], id).toBeNull()
        else expect(got[id], id).toBeCloseTo(value, 9)
      if (Number(until) - Number(since) < DAY) return
      // The dataset exercises each metric away from its trivial value.
      expect(want.accepted_mismatches).toBeGreaterThan(0)
      expect(want.expired_tokens_accepted).toBeGreaterThan(0)
      expect(want.cross_audience_replays).toBeGreaterThan(0)
      if (tenant === 'acme') expect(want.drifted_resources).toBeGreaterThan(0)
      expect(want.logging_completeness).toBeLessThan(1)
      expect(want.multi_audience_token_share).toBeGreaterThan(0)
    },
  )

  it('counts again, each once, only the events of tokens holding an event stored twice', async () => {
    const scope = (tenant: string) => ({ tenant, since: SINCE + 3.5 * DAY, until: UNTIL })
    const counts = async (tenant: string, final: string) => {
      const rs = await storage.client.query({
        query: `SELECT count() AS events FROM ${storage.database}.events ${final}
                WHERE tenant = {tenant:String} AND occurred_at >= {since:DateTime64(3, 'UTC')}
                  AND occurred_at < {until:DateTime64(3, 'UTC')}`,
        query_params: {
          tenant,
          since: toDateTime64(scope(tenant).since),
          until: toDateTime64(scope(tenant).until),
        },
        format: 'JSONEachRow',
      })
      return Number((await rs.json<{ events: string }>())[0]!.events)
    }
    // acme holds 20 events stored twice: the plain count sees them, FINAL and the report do not,
    // whether it reads the groups that hold them or the whole period with FINAL.
    const acme = await queryEventMetrics(storage, scope('acme'))
    expect(acme.final).toBe(true)
    expect(await counts('acme', '')).toBeGreaterThan(await counts('acme', 'FINAL'))
    expect(acme.events).toBe(await counts('acme', 'FINAL'))
    const whole = await queryEventMetrics(storage, scope('acme'), { maxRepeatedTokens: 0 })
    expect(whole).toEqual(acme)
    // globex has none: no FINAL read, and the count FINAL would give.
    const globex = await queryEventMetrics(storage, scope('globex'))
    expect(globex.final).toBe(false)
    expect(globex.events).toBe(await counts('globex', 'FINAL'))
  })

  it('counts a redelivery the rollup saw twice once, and one the insert dedup caught once', async () => {
    const tenant = 'redelivered'
    const events = dataset(tenant, 23)
    await seed(storage, events)
    const scope = { tenant, since: SINCE, until: UNTIL }
    const before = await queryEventMetrics(storage, scope)
    expect(before.final).toBe(false)
    expect(before.events).toBe(inPeriod(events, SINCE, UNTIL).length)
    // The same events in other batches: stored again in events and in the rollup.
    await seed(storage, events.slice(5, 40))
    const after = await queryEventMetrics(storage, scope)
    expect(after.final).toBe(true)
    expect({ ...after, final: false }).toEqual(before)
    // The same batch again: the insert dedup drops it, in events and in the rollup alike.
    await seed(storage, events.slice(5, 40))
    const rs = await storage.client.query({
      query: `SELECT sum(events) AS n FROM ${storage.database}.token_usage_hourly WHERE tenant = {tenant:String}`,
      query_params: { tenant },
      format: 'JSONEachRow',
    })
    expect(Number((await rs.json<{ n: string }>())[0]!.n)).toBe(events.length + 35)
    expect(await queryEventMetrics(storage, scope)).toEqual(after)
  })

  it('merges a token across the partial hours and the whole hours, with and without repeats', async () => {
    const tenant = 'edges'
    const H = SINCE + 10 * DAY
    const HOUR = 3_600_000
    const [since, until] = [H + 0.5 * HOUR, H + 5.5 * HOUR]
    const at = (ms: number) => new Date(ms).toISOString()
    const s = (ms: number) => Math.floor(ms / 1000)
    const tok = (jti: string, exp: number, aud = [MCP]) => ({ jti, iat: s(H), exp: s(exp), aud })
    const t1 = tok('edge-replay', H + DAY)
    const t2 = tok('edge-expired', H + 5 * HOUR + 600_000)
    const t3 = tok('edge-multi', H + DAY, [MCP, API])
    const events = [
      // t1: one resource in the partial first hour, another (outside its audience) in a whole hour.
      presented(tenant, at(since + 60_000), { token: t1, resource: MCP, presented_aud: [MCP] }),
      presented(tenant, at(H + 2 * HOUR), { token: t1, resource: API, presented_aud: [MCP] }),
      // t2: accepted in time in a whole hour, and 20 minutes after expiry in the partial last hour.
      presented(tenant, at(H + 2 * HOUR), { token: t2 }),
      presented(tenant, at(until - 1), { token: t2 }),
      // t3: issued with two audiences in a whole hour, presented exactly at both hour bounds.
      issued(tenant, at(H + 3 * HOUR), { token: t3, granted_aud: [MCP, API] }),
      presented(tenant, at(H + HOUR), { token: t3 }),
      presented(tenant, at(H + 5 * HOUR), { token: t3, aud_validated: false }),
      // At since (counted) and at until (not).
      presented(tenant, at(since), { token: tok('edge-since', H + DAY) }),
      presented(tenant, at(until), { token: tok('edge-until', H + DAY) }),
    ]
    await seed(storage, events)
    const check = async (final: boolean, options?: { maxRepeatedTokens: number }) => {
      const got = await queryEventMetrics(storage, { tenant, since, until }, options)
      expect(got.final).toBe(final)
      const report = await buildComplianceReport(storage, {
        tenant,
        framework: 'all',
        since,
        until,
      })
      const want = expected(inPeriod(events, since, until))
      expect(want.cross_audience_replays).toBe(1)
      expect(want.expired_tokens_accepted).toBe(1)
      expect(want.multi_audience_token_share).toBeGreaterThan(0)
      expect(want.token_presentations).toBe(7)
      for (const m of report.metrics)
        if (want[m.id] === null) expect(m.value, m.id).toBeNull()
        else expect(m.value, m.id).toBeCloseTo(want[m.id]!, 9)
    }
    await check(false)
    // Stored twice: one event of a whole hour (its rollup group repeats) and one of a partial hour.
    await seed(storage, [events[1]!, events[3]!])
    await check(true)
    await check(true, { maxRepeatedTokens: 0 })
  })

  it('lists the drifted resources with their raw spellings', async () => {
    const report = await buildComplianceReport(storage, {
      tenant: 'acme',
      framework: 'mcp-authorization',
      since: SINCE,
      until: UNTIL,
    })
    const mcp = report.drifted_resources.find((d) => d.spellings.includes(`${MCP}/`))
    expect(mcp?.spellings).toEqual(expect.arrayContaining([MCP, 'https://MCP.example.com/mcp']))
  })

  it('has no evidence for a period without events', async () => {
    const report = await buildComplianceReport(storage, {
      tenant: 'acme',
      framework: 'all',
      since: '2025-01-01T00:00:00Z',
      until: '2025-02-01T00:00:00Z',
    })
    expect(report.metrics.every((m) => m.value === null && m.status === 'no_evidence')).toBe(true)
    for (const fw of report.frameworks) {
      expect(fw.summary.no_evidence, fw.id).toBe(fw.summary.controls)
      expect(fw.controls.every((c) => c.status === 'no_evidence')).toBe(true)
    }
    expect(report.findings).toEqual([])
  })

  it('refuses a period that is empty, reversed or longer than 366 days', async () => {
    const build = (since: string, until: string) =>
      buildComplianceReport(storage, { tenant: 'acme', framework: 'all', since, until })
    await expect(build('2026-10-02T00:00:00Z', '2026-10-01T00:00:00Z')).rejects.toThrow(RangeError)
    await expect(build('2026-10-01T00:00:00Z', '2026-10-01T00:00:00Z')).rejects.toThrow(RangeError)
    await expect(build('2024-01-01T00:00:00Z', '2026-01-01T00:00:00Z')).rejects.toThrow(/366 days/)
    await expect(build('yesterday', '2026-01-01T00:00:00Z')).rejects.toThrow(TypeError)
  })
})
