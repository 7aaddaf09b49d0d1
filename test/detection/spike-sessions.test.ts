import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runExample } from '../../src/detection/examples.js'
import type { RuleExample } from '../../src/detection/rule.js'
import { RULES } from '../../src/detection/rules/index.js'
import {
  at,
  BASE_EPOCH_S,
  exampleEvents,
  token,
} from '../../src/detection/rules/lib/example-events.js'
import { migrate } from '../../src/storage/migrate.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

// token-usage-spike with hourly intervals (the defaults) on a person whose sessions do not keep
// to clock hours: the false alert of the quality bench's held-out seed 6, and its attacks.
const storage = testStorage('rules_spike_sessions')
beforeAll(() => migrate(storage, { retention: RETENTION }).then(() => undefined))
afterAll(closeTestStorages)

const spike = RULES.find((r) => r.id === 'token-usage-spike')!
const ev = exampleEvents('spike-sessions')
let n = 0
const run = (events: RuleExample['events']) =>
  runExample(spike, { name: `spike ${++n}`, fires: true, events }, storage, `ss-${n}`)

const HOUR = 3600
/**
 * A week of sessions of ten requests, each with its own token, one every seven hours, from 10:50
 * two minutes apart: five in one hour and five in the next, so the hour counts are 5, 5, 0, 0, ...
 */
const week = Array.from({ length: 24 }, (_, s) =>
  Array.from({ length: 10 }, (_, j) =>
    ev.presented({
      occurred_at: at(s * 7 * HOUR + 50 * 60 + j * 120),
      token: token({ jti: `session-${s}` }),
    }),
  ),
).flat()
/** `count` requests from second `from` of the hour after the week, `spacing` s apart, ten a token. */
const burst = (count: number, from = 0, spacing = 20) =>
  Array.from({ length: count }, (_, j) =>
    ev.presented({
      occurred_at: at(168 * HOUR + from + j * spacing),
      token: token({ jti: `burst-${Math.floor(j / 10)}` }),
    }),
  )

describe('token-usage-spike, sessions cut by hour edges', () => {
  it('stays quiet on three whole sessions in one hour of a person whose sessions straddle hours', async () => {
    // By hour counts the burst size is 3.6 (variance-to-mean of 5, 5, 0, 0, 0, 0, 0) and 30
    // requests read as nine bursts at a level of 5 (p = 2e-5): a spike before sessions counted.
    // The sessions say ten (times the idle share, 5/7): 30 is five bursts, p = 0.004.
    expect(await run([...week, ...burst(30)])).toEqual([])
  })

  it('fires on the same person hijacked, judged in units of its sessions', async () => {
    const found = await run([...week, ...burst(150)])
    expect(found).toHaveLength(1)
    expect(found[0]!.evidence).toMatchObject({
      window_intervals: 1,
      requests: 150,
      interval_requests: 150,
      baseline_median: 5,
      baseline_sessions: 24,
      // ten a session, times the share of idle hours of the baseline (120 of 168)
      session_dispersion: Math.round(10 * (120 / 168) * 100) / 100,
      own_history: true,
    })
    expect(found[0]!.evidence.dispersion).toBe(found[0]!.evidence.session_dispersion)
    expect(found[0]!.evidence.poisson_p).toBeLessThan(1e-10)
  })

  it('judges a burst cut in two by an hour edge over both hours', async () => {
    // 70 requests from half past the hour for an hour: 35 and 35, each five sessions' worth (p = 0.004), the
    // two hours together ten (p = 1e-7) against two-hour windows of 10 and 5.
    const events = [...week, ...burst(70, -1785, 51)]
    const found = await run(events)
    expect(found).toHaveLength(1)
    expect(found[0]!.evidence).toMatchObject({
      window_intervals: 2,
      interval_start: at(167 * HOUR),
      requests: 70,
      interval_requests: 35,
      baseline_median: 5,
      baseline_q95: 10,
    })
    // The first half alone is not a spike.
    expect(await run([...week, ...burst(35, -1785, 51)])).toEqual([])
  })

  // The person of held-out seed 6 (attack-token-passthrough's victim): its sessions of the week,
  // as tokens (requests, first and last use), then three sessions at once on a Saturday.
  const SEED_6: [number, string, string][] = [
    [9, '2026-11-23T09:01:02Z', '2026-11-23T09:24:12Z'],
    [5, '2026-11-24T14:15:45Z', '2026-11-24T14:24:01Z'],
    [5, '2026-11-25T15:55:22Z', '2026-11-25T16:03:09Z'],
    [5, '2026-11-25T19:56:01Z', '2026-11-25T20:00:03Z'],
    [6, '2026-11-26T08:51:09Z', '2026-11-26T08:55:49Z'],
    [6, '2026-11-26T14:25:31Z', '2026-11-26T14:40:49Z'],
    [4, '2026-11-27T11:56:34Z', '2026-11-27T11:59:49Z'],
    [4, '2026-11-27T13:42:10Z', '2026-11-27T13:45:16Z'],
    [8, '2026-11-27T16:56:39Z', '2026-11-27T17:11:09Z'],
  ]
  const SATURDAY: [number, string, string][] = [
    [14, '2026-11-28T11:24:59Z', '2026-11-28T11:50:31Z'],
    [7, '2026-11-28T11:31:55Z', '2026-11-28T11:38:03Z'],
    [14, '2026-11-28T11:33:36Z', '2026-11-28T11:46:14Z'],
  ]
  const sessions = (list: [number, string, string][], tag: string) =>
    list.flatMap(([count, first, last], s) => {
      const from = Date.parse(first) / 1000 - BASE_EPOCH_S
      const step = (Date.parse(last) / 1000 - BASE_EPOCH_S - from) / Math.max(count - 1, 1)
      return Array.from({ length: count }, (_, j) =>
        ev.presented({ occurred_at: at(from + j * step), token: token({ jti: `${tag}-${s}` }) }),
      )
    })

  it("stays quiet when a person's week of small sessions is followed by three bigger ones at once", async () => {
    // Sessions of 4 to 9 (95th percentile 8.6, times 110 idle hours of 122: 7.75): 35 requests
    // are five sessions' worth, p = 0.004. Their size-biased mean (5.5) made it seven, p = 8e-5.
    expect(await run([...sessions(SEED_6, 'week'), ...sessions(SATURDAY, 'sat')])).toEqual([])
    const hijacked = await run([
      ...sessions(SEED_6, 'week'),
      ...sessions([[120, '2026-11-28T11:00:20Z', '2026-11-28T11:55:00Z']], 'loop'),
    ])
    expect(hijacked).toHaveLength(1)
    expect(hijacked[0]!.evidence).toMatchObject({
      requests: 120,
      baseline_sessions: 9,
      session_dispersion: 7.75,
    })
  })
})
