import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runExample } from '../../src/detection/examples.js'
import type { Rule, RuleExample } from '../../src/detection/rule.js'
import { RULES } from '../../src/detection/rules/index.js'
import { at, exampleEvents, token } from '../../src/detection/rules/lib/example-events.js'
import { migrate } from '../../src/storage/migrate.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

// The three rules issue 26 measured noisy or blind, on the shapes it described.
const storage = testStorage('rules_precision')
beforeAll(() => migrate(storage, { retention: RETENTION }).then(() => undefined))
afterAll(closeTestStorages)

const rule = (id: string): Rule => RULES.find((r) => r.id === id)!
let n = 0
const run = (id: string, example: Omit<RuleExample, 'name' | 'fires'>) =>
  runExample(rule(id), { name: `precision ${++n}`, fires: true, ...example }, storage, `pr-${n}`)

describe('missing-resource-indicator', () => {
  const ev = exampleEvents('precision-missing-resource')
  it('keeps the raw values it judged as evidence, and tells absent from unusable', async () => {
    const [empty, relative, absent] = await Promise.all([
      run('missing-resource-indicator', {
        events: [ev.authorization({ requested_resources: [''] })],
      }),
      run('missing-resource-indicator', {
        events: [ev.issued({ requested_resources: ['mcp.example.com/mcp', '#frag'] })],
      }),
      run('missing-resource-indicator', {
        events: [ev.authorization({ requested_resources: [] })],
      }),
    ])
    expect(empty[0]!.evidence).toMatchObject({
      reason: 'not_absolute_uri',
      requested_resources: [''],
      invalid_resources: [''],
    })
    expect(relative[0]!.evidence).toMatchObject({
      reason: 'not_absolute_uri',
      invalid_resources: ['mcp.example.com/mcp', '#frag'],
    })
    expect(absent[0]!.evidence).toMatchObject({ reason: 'absent', invalid_resources: [] })
  })

  it('does not count an absolute URI with a fragment as a resource indicator (RFC 8707 §2)', async () => {
    const found = await run('missing-resource-indicator', {
      events: [ev.authorization({ requested_resources: ['https://mcp.example.com/mcp#x'] })],
    })
    expect(found).toHaveLength(1)
  })
})

describe('token-usage-spike, hourly', () => {
  const ev = exampleEvents('precision-spike')
  // A low-rate pair (median 5, MAD 1) for thirty hours, then one hour of `last`.
  const hours = (last: number) =>
    [
      5,
      4,
      6,
      5,
      5,
      3,
      6,
      5,
      4,
      7,
      5,
      5,
      4,
      6,
      5,
      3,
      5,
      6,
      4,
      5,
      5,
      6,
      4,
      5,
      7,
      5,
      4,
      5,
      6,
      5,
      last,
    ].flatMap((count, h) =>
      Array.from({ length: count }, (_, i) =>
        ev.presented({
          occurred_at: at(h * 3600 + i * Math.floor(3600 / (count + 1))),
          token: token({ jti: `h-${h}` }),
        }),
      ),
    )
  it('stays quiet on an ordinary busier hour of a low-rate pair', async () => {
    // The old score: 0.6745 * (13 - 5) / 1 = 5.4 against 3.5. Poisson P(X >= 13 | 5) = 0.0014.
    expect(await run('token-usage-spike', { events: hours(13) })).toEqual([])
  })

  it('fires on a hijacked agent at the same pair, with the evidence of each test', async () => {
    const found = await run('token-usage-spike', { events: hours(90) })
    expect(found).toHaveLength(1)
    expect(found[0]!.evidence).toMatchObject({
      requests: 90,
      // The level: the active median (5), or the same hour a day before (6) when higher.
      seasonal_median: 6,
      baseline_median: 6,
      ratio: 15,
      active_intervals: 30,
      threshold: 3.5,
    })
    expect(found[0]!.evidence.poisson_p).toBeLessThan(1e-20)
  })
})

describe('token-multi-source', () => {
  const ev = exampleEvents('precision-multi-source')
  const from = (ip: string, s: number, jti: string) =>
    ev.presented({ occurred_at: at(s), network: { ip }, token: token({ jti }) })
  const usual = [0, 1, 2].map((h) => from('203.0.113.7', -172_800 + h * 3600, `old-${h}`))
  it('reports the new network, the usual ones and the turns', async () => {
    const found = await run('token-multi-source', {
      events: [
        ...usual,
        from('203.0.113.7', 0, 'at-1'),
        from('198.51.100.4', 30, 'at-1'),
        from('203.0.113.9', 60, 'at-1'),
      ],
    })
    expect(found).toHaveLength(1)
    expect(found[0]!.evidence).toMatchObject({
      sources: 2,
      new_sources: 1,
      usual_networks: 1,
      in_turn: true,
      ips: ['198.51.100.4', '203.0.113.7', '203.0.113.9'],
      prefixes: { ipv4: 24, ipv6: 56 },
    })
  })

  it('compares /32 when told to: the same NAT pool is then four networks', async () => {
    const pool = ['203.0.113.7', '203.0.113.8', '203.0.113.9'].map((ip, i) =>
      from(ip, i * 10, 'at-2'),
    )
    expect(await run('token-multi-source', { events: pool })).toEqual([])
    expect(
      await run('token-multi-source', { params: { ipv4PrefixLength: 32 }, events: pool }),
    ).toHaveLength(1)
  })
})
