/**
 * One tenant cannot stall the others (src/api/fairness.ts), over HTTP: a tenant's expensive
 * requests (reports, large ingests) beyond its cap are refused with 429 ERR_CONCURRENCY_LIMITED
 * while another tenant's pass; ingest is weighted by events and reports by days of period, per
 * tenant; failed authentications are limited per source address, and an address out of tries is
 * refused before its token is verified while other addresses are unaffected. Every refusal is in
 * the error model, with Retry-After. Clocks are injected: nothing here waits on time.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Authenticate } from '../../src/api/auth.js'
import { createAuthenticator } from '../../src/api/auth.js'
import {
  addressKey,
  Fairness,
  fairnessFromConfig,
  fairnessOf,
  reportCost,
  withFairness,
  type FairnessOptions,
} from '../../src/api/fairness.js'
import { TokenBuckets } from '../../src/api/rate-limit.js'
import { loadConfig } from '../../src/config.js'
import { Metrics, pipelineMetrics } from '../../src/metrics.js'
import { sinkTarget, type IngestTarget } from '../../src/pipeline/ingest.js'
import { createMemorySink } from '../../src/pipeline/memory-sink.js'
import type { Storage } from '../../src/storage/client.js'
import { migrate } from '../../src/storage/migrate.js'
import { testApp } from '../helpers/api-app.js'
import { API_AUDIENCE, API_ISSUER, apiKeys } from '../helpers/api-tokens.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'
import { expectErrorModel } from './documented-errors.js'

const storage = testStorage('api_fairness')
let keys: Awaited<ReturnType<typeof apiKeys>>
const apps: FastifyInstance[] = []

beforeAll(async () => {
  keys = await apiKeys()
  await migrate(storage, { retention: RETENTION })
})
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()))
  await closeTestStorages()
})

/** A gate that holds whatever awaits it until opened. */
function gate() {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { opened, open: () => open() }
}

/** Waits (in turns of the event loop, no timer) until `check` holds. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setImmediate(r))
}

/**
 * The app with `options` for its limits; `hold` holds tenant acme's writes of 1 000 events and
 * more, and acme's report queries, until opened. `verified` counts the tokens looked at.
 */
async function build(options: FairnessOptions, hold?: Promise<void>) {
  const sink = createMemorySink()
  const inner = sinkTarget(sink)
  const held = { writes: 0, queries: 0 }
  const target: IngestTarget = {
    async write(accepted, rejected) {
      const rows = [...accepted.map((a) => a.row), ...rejected.map((r) => r.row)]
      if (hold && rows.length >= 1000 && rows.every((r) => r.tenant === 'acme')) {
        held.writes += 1
        await hold
      }
      return inner.write(accepted, rejected)
    },
  }
  // The report's queries of acme wait for `hold` (each one goes through storage.reports).
  const gated =
    <A extends [{ tenant: string }, ...unknown[]], R>(query: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (hold && args[0].tenant === 'acme') {
        held.queries += 1
        await hold
      }
      return query(...args)
    }
  const { reports } = storage
  const gatedStorage: Storage = {
    ...storage,
    reports: {
      tokenMetrics: gated(reports.tokenMetrics),
      drift: gated(reports.drift),
      eventCounts: gated(reports.eventCounts),
      findingCounts: gated(reports.findingCounts),
      findings: gated(reports.findings),
      sources: gated(reports.sources),
      sampleEvents: gated(reports.sampleEvents),
      closedFindings: gated(reports.closedFindings),
      topFindings: gated(reports.topFindings),
    },
  }
  const authenticator = createAuthenticator({
    keys: keys.keys,
    issuer: API_ISSUER,
    audience: API_AUDIENCE,
  })
  const counter = { verified: 0 }
  const counting: Authenticate = (authorization) => {
    counter.verified += 1
    return authenticator(authorization)
  }
  const metrics = new Metrics()
  const fairness = new Fairness(options)
  const authenticate = withFairness(counting, fairness)
  // The routes find the limits the authenticator carries.
  expect(fairnessOf(authenticate)).toBe(fairness)
  const app = await testApp(keys, {
    authenticate,
    metrics,
    storage: gatedStorage,
    ingest: { target, retentionDays: 400, pipeline: pipelineMetrics(metrics) },
  })
  apps.push(app)
  return { app, held, sink, counter, fairness }
}

/** `n` items of the body: empty objects, each refused (validation still ran on each). */
const items = (n: number) => JSON.stringify(Array.from({ length: n }, () => ({})))

async function ingest(app: FastifyInstance, tenant: string, n: number) {
  const token = await keys.token({ roles: ['ingest'], tenant })
  return app.inject({
    method: 'POST',
    url: '/v1/ingest',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    payload: items(n),
  })
}

async function report(app: FastifyInstance, tenant: string, days: number) {
  const token = await keys.token({ roles: ['viewer'], tenant })
  const until = Date.parse('2026-11-01T00:00:00Z')
  const since = new Date(until - days * 86_400_000).toISOString()
  return app.inject({
    method: 'GET',
    url: `/v1/reports/compliance?framework=all&since=${since}&until=2026-11-01T00:00:00Z`,
    headers: { authorization: `Bearer ${token}` },
  })
}

function expectRefused(res: LightMyRequestResponse, code: string, retryAfter?: string) {
  expect(res.statusCode, res.body).toBe(429)
  expectErrorModel(res, code)
  expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1)
  if (retryAfter !== undefined) expect(res.headers['retry-after']).toBe(retryAfter)
}

describe('a cap on expensive requests at once per tenant', () => {
  it('refuses the third large ingest or report of a tenant with two running, and not another tenant', async () => {
    const hold = gate()
    const { app, held } = await build({ concurrentPerTenant: 2 }, hold.opened)
    // Two large ingests of acme, held in their writes: both slots taken.
    const running = [ingest(app, 'acme', 1000), ingest(app, 'acme', 1500)]
    await until(() => held.writes === 2)

    expectRefused(await ingest(app, 'acme', 1000), 'ERR_CONCURRENCY_LIMITED', '1')
    // Reports share the slots: a report of acme is refused too, before any query runs.
    expectRefused(await report(app, 'acme', 30), 'ERR_CONCURRENCY_LIMITED', '1')
    expect(held.queries).toBe(0)
    // A small ingest is not expensive work: it passes.
    const small = await ingest(app, 'acme', 999)
    expect(small.statusCode, small.body).toBe(200)
    // Another tenant's large ingest and report pass while acme is at its cap.
    const other = await ingest(app, 'beta', 2000)
    expect(other.statusCode, other.body).toBe(200)
    expect(JSON.parse(other.body)).toMatchObject({ rejected: 2000 })
    expect((await report(app, 'beta', 30)).statusCode).toBe(200)

    hold.open()
    for (const res of await Promise.all(running)) expect(res.statusCode, res.body).toBe(200)
    // The slots were given back: acme may run expensive work again.
    expect((await ingest(app, 'acme', 1000)).statusCode).toBe(200)
    expect((await report(app, 'acme', 30)).statusCode).toBe(200)
  })

  it('counts running reports against the cap, and gives a slot back when a request fails', async () => {
    const hold = gate()
    const { app, held, fairness } = await build({ concurrentPerTenant: 1 }, hold.opened)
    const first = report(app, 'acme', 30)
    await until(() => held.queries > 0)
    expectRefused(await report(app, 'acme', 7), 'ERR_CONCURRENCY_LIMITED')
    expectRefused(await ingest(app, 'acme', 5000), 'ERR_CONCURRENCY_LIMITED')
    expect((await report(app, 'beta', 7)).statusCode).toBe(200)
    hold.open()
    expect((await first).statusCode).toBe(200)
    // An ingest large by its bytes takes its slot before the body is cut; refused then (too many
    // events: 413), it gives the slot back.
    const token = await keys.token({ roles: ['ingest'], tenant: 'acme' })
    const tooMany = await app.inject({
      method: 'POST',
      url: '/v1/ingest',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify(Array.from({ length: 10_001 }, () => ({ pad: 'x'.repeat(100) }))),
    })
    expect(tooMany.body.length).toBeLessThan(1000)
    expectErrorModel(tooMany, 'ERR_PAYLOAD_TOO_LARGE')
    expect(fairness.running('acme')).toBe(0)
    expect((await report(app, 'acme', 7)).statusCode).toBe(200)
  })
})

describe('weights', () => {
  it('takes one token per ingested event from the tenant, not one per request', async () => {
    let now = 0
    const { app } = await build({ ingestEventsPerSecond: 1000, now: () => now })
    // The budget holds 10 000 events (twice 1 000 a second, but at least one full request).
    expect((await ingest(app, 'acme', 6000)).statusCode).toBe(200)
    // Two requests so far would pass any request limit; 5 000 more events are over the budget.
    expectRefused(await ingest(app, 'acme', 5000), 'ERR_RATE_LIMITED', '1')
    expect((await ingest(app, 'beta', 5000)).statusCode).toBe(200)
    expect((await ingest(app, 'acme', 4000)).statusCode).toBe(200)
    expectRefused(await ingest(app, 'acme', 1), 'ERR_RATE_LIMITED', '1')
    // 2 s later, 2 000 events are back: 2 000 pass, then nothing.
    now += 2000
    expect((await ingest(app, 'acme', 2000)).statusCode).toBe(200)
    expectRefused(await ingest(app, 'acme', 10), 'ERR_RATE_LIMITED')
  })

  it('weighs a body by its KiB when they outnumber its events', () => {
    const fairness = new Fairness({ ingestEventsPerSecond: 1000, now: () => 0 })
    // Two events in 6 MiB cost 6 144 tokens; 3 900 are left, so 4 000 small events are refused.
    fairness.admitIngest('acme', 6 * 1024 * 1024, () => 2)()
    expect(() => fairness.admitIngest('acme', 4000 * 40, () => 4000)).toThrow(
      expect.objectContaining({ statusCode: 429, code: 'ERR_RATE_LIMITED' }),
    )
    fairness.admitIngest('acme', 3800 * 40, () => 3800)()
  })

  it('refuses a body the budget cannot cover before cutting it into events', () => {
    const fairness = new Fairness({ ingestEventsPerSecond: 1000, now: () => 0 })
    fairness.admitIngest('acme', 100, () => 10_000)()
    let cut = false
    expect(() =>
      fairness.admitIngest('acme', 2 * 1024 * 1024, () => {
        cut = true
        return 1
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_RATE_LIMITED' }))
    expect(cut).toBe(false)
  })

  it('takes one token per day of a report period from the tenant', async () => {
    let now = 0
    // 60 days a minute: one a second, bursts of 366 (one report of the longest period).
    const { app } = await build({ reportDaysPerMinute: 60, now: () => now })
    expect((await report(app, 'acme', 366)).statusCode).toBe(200)
    expectRefused(await report(app, 'acme', 1), 'ERR_RATE_LIMITED', '1')
    expect((await report(app, 'beta', 366)).statusCode).toBe(200)
    now += 30_000
    expect((await report(app, 'acme', 30)).statusCode).toBe(200)
    expectRefused(await report(app, 'acme', 1), 'ERR_RATE_LIMITED', '1')
    expect(reportCost({ since: 0, until: 1 })).toBe(1)
    expect(reportCost({ since: 0, until: 86_400_001 })).toBe(2)
  })
})

describe('failed authentications per source address', () => {
  it('refuses an address after its failures, before verifying its token, and no other address', async () => {
    let now = 0
    const { app, counter } = await build({ authFailuresPerMinute: 3, now: () => now })
    const good = await keys.token({ roles: ['viewer'], tenant: 'acme' })
    const forged = await keys.token({ roles: ['viewer'] }, { audience: 'https://elsewhere' })
    const get = (ip: string, token?: string, url = '/v1/findings') =>
      app.inject({
        method: 'GET',
        url,
        remoteAddress: ip,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      })

    expectErrorModel(await get('10.0.0.1', forged), 'ERR_AUTH_INVALID')
    expectErrorModel(await get('10.0.0.1'), 'ERR_AUTH_MISSING')
    expectErrorModel(await get('10.0.0.1', 'not-a-jwt'), 'ERR_AUTH_INVALID')
    const verified = counter.verified
    // Out of tries: refused, a good token too, and no token is looked at. One try comes back
    // every 20 s (3 a minute).
    expectRefused(await get('10.0.0.1', good), 'ERR_AUTH_RATE_LIMITED', '20')
    expectRefused(await get('10.0.0.1', forged), 'ERR_AUTH_RATE_LIMITED', '20')
    expect(counter.verified).toBe(verified)
    // Only /v1 is refused: health and the OpenAPI document still answer.
    expect((await get('10.0.0.1', undefined, '/healthz')).statusCode).toBe(200)

    // Another address is unaffected, by failures or successes.
    expect((await get('10.0.0.2', good)).statusCode).toBe(200)
    expectErrorModel(await get('10.0.0.2', forged), 'ERR_AUTH_INVALID')
    for (let i = 0; i < 5; i++) expect((await get('10.0.0.3', good)).statusCode).toBe(200)

    now += 20_000
    expect((await get('10.0.0.1', good)).statusCode).toBe(200)
    expectErrorModel(await get('10.0.0.1', forged), 'ERR_AUTH_INVALID')
    expectRefused(await get('10.0.0.1', good), 'ERR_AUTH_RATE_LIMITED')
  })
})

describe('addressKey', () => {
  it('counts IPv4 by address and IPv6 by its /64', () => {
    expect(addressKey('10.0.0.1')).toBe('10.0.0.1')
    expect(addressKey('::ffff:10.0.0.1')).toBe('10.0.0.1')
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64')
    expect(addressKey('2001:DB8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64')
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(addressKey('2001:db8:1:3::1')).not.toBe(addressKey('2001:db8:1:2::1'))
    expect(addressKey('::1')).toBe('0:0:0:0::/64')
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
  })

  it('refuses the rest of a /64 once one of its addresses is out of tries', async () => {
    const { app } = await build({ authFailuresPerMinute: 2, now: () => 0 })
    const get = (ip: string) =>
      app.inject({ method: 'GET', url: '/v1/findings', remoteAddress: ip })
    expectErrorModel(await get('2001:db8:1:2::1'), 'ERR_AUTH_MISSING')
    expectErrorModel(await get('2001:db8:1:2::2'), 'ERR_AUTH_MISSING')
    expectRefused(await get('2001:db8:1:2::3'), 'ERR_AUTH_RATE_LIMITED')
    expectErrorModel(await get('2001:db8:1:3::1'), 'ERR_AUTH_MISSING')
  })
})

describe('configuration', () => {
  it('sets the limits from the environment, 0 turning one off', () => {
    const config = loadConfig({
      AUDTRAIL_INGEST_EVENT_RATE: '0',
      AUDTRAIL_TENANT_CONCURRENCY: '1',
      AUDTRAIL_AUTH_FAILURE_LIMIT: '0',
    })
    expect(config.api).toMatchObject({
      ingestEventRate: 0,
      reportDayRate: 180,
      tenantConcurrency: 1,
      authFailureLimit: 0,
    })
    const fairness = fairnessFromConfig(config.api)
    expect(fairness.limitsAuthFailures).toBe(false)
    fairness.admitIngest('acme', 10, () => 10)()
    fairness.admitIngest('acme', 10, () => 10)()
    const release = fairness.admitReport('acme', { since: 0, until: 86_400_000 })
    expect(() => fairness.admitIngest('acme', 10, () => 5000)).toThrow(
      expect.objectContaining({ code: 'ERR_CONCURRENCY_LIMITED' }),
    )
    release()
    release()
    expect(fairness.running('acme')).toBe(0)
    expect(fairnessFromConfig(loadConfig({}).api).limitsAuthFailures).toBe(true)
  })

  it('token buckets: weighted takes, Retry-After in whole seconds, refill', () => {
    let now = 0
    const buckets = new TokenBuckets({ perSecond: 10, burst: 20, now: () => now })
    expect(buckets.take('a', 15)).toBe(0)
    expect(buckets.take('a', 15)).toBe(1)
    expect(buckets.take('a', 5)).toBe(0)
    expect(buckets.take('a', 20)).toBe(2)
    expect(buckets.take('b', 20)).toBe(0)
    now += 1500
    expect(buckets.wait('a', 15)).toBe(0)
    expect(buckets.take('a', 16)).toBe(1)
  })
})
