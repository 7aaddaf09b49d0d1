/**
 * The report's sealing job as `audtrail serve` and `audtrail detect` run it (sealLoop in
 * src/cli/detection.ts, sealAllTenants in src/storage/report-seal.ts): every tenant with past
 * days gets them sealed, tenants apart, and the report's metrics stay what the grouped query
 * gives.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { sealLoop } from '../../src/cli/detection.js'
import { createLogger } from '../../src/logger.js'
import { queryEventMetrics } from '../../src/reports/evidence.js'
import { sealAllTenants } from '../../src/storage/report-seal.js'
import { API, issued, MCP, presented, seed, type Event } from '../reports/fixtures.js'
import { migrate } from '../../src/storage/migrate.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

afterAll(closeTestStorages)

const HOUR = 3_600_000
const DAY = 24 * HOUR
const iso = (ms: number) => new Date(ms).toISOString()
const today = Math.floor(Date.now() / DAY) * DAY

function token(tenant: string, jti: string, at: number, aud: string): Event[] {
  const iat = Math.floor(at / 1000)
  const t = { jti, iat, exp: iat + 3600, aud: [aud] }
  return [
    issued(tenant, iso(at), { token: t, granted_aud: [aud], requested_resources: [aud] }),
    presented(tenant, iso(at + 60_000), {
      source: { kind: 'resource_server', id: 'rs' },
      resource: aud,
      presented_aud: [aud],
      token: t,
    }),
  ]
}

describe('the sealing job', () => {
  it('seals the past days of every tenant, each once, and leaves the report unchanged', async () => {
    const storage = testStorage('seal_loop')
    await migrate(storage, { retention: RETENTION })
    // Days 5, 4 and 3 before today for one tenant, day 4 for the other; today is never sealed.
    await seed(storage, [
      ...token('t-one', 'a', today - 5 * DAY + 2 * HOUR, MCP),
      ...token('t-one', 'b', today - 4 * DAY + 3 * HOUR, API),
      ...token('t-one', 'c', today - 3 * DAY + 4 * HOUR, MCP),
      ...token('t-two', 'a', today - 4 * DAY + 2 * HOUR, MCP),
      ...token('t-two', 'now', Date.now() - 60_000, MCP),
    ])
    const period = { since: today - 7 * DAY, until: Date.now() + HOUR }
    const before = {
      one: await queryEventMetrics(storage, { tenant: 't-one', ...period }),
      two: await queryEventMetrics(storage, { tenant: 't-two', ...period }),
    }

    // One pass of the loop (its stop already resolved): both tenants sealed.
    await sealLoop(storage, createLogger('silent'), Promise.resolve())
    const rs = await storage.client.query({
      query: `SELECT tenant, toString(day) AS day, count() AS seals
              FROM ${storage.database}.report_sealed_days GROUP BY tenant, day ORDER BY tenant, day`,
      format: 'JSONEachRow',
    })
    const day = (n: number) => iso(today - n * DAY).slice(0, 10)
    expect(
      (await rs.json<{ tenant: string; day: string; seals: string }>()).map((r) => [
        r.tenant,
        r.day,
        Number(r.seals),
      ]),
    ).toEqual([
      ['t-one', day(5), 1],
      ['t-one', day(4), 1],
      ['t-one', day(3), 1],
      ['t-two', day(4), 1],
    ])

    // Nothing left to seal: a second pass seals no day of either tenant.
    const again = await sealAllTenants(storage, { now: Date.now(), clockSkewS: 60 })
    expect(again.tenants).toEqual([
      { tenant: 't-one', sealed: [] },
      { tenant: 't-two', sealed: [] },
    ])
    expect(await queryEventMetrics(storage, { tenant: 't-one', ...period })).toEqual(before.one)
    expect(await queryEventMetrics(storage, { tenant: 't-two', ...period })).toEqual(before.two)
  })
})
