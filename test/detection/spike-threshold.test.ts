/**
 * token-usage-spike's threshold on its own: the outside audit's mutant (the default 3.5 made 0.35,
 * issue 31) survived the test of a small rise once the rule gained its minimum ratio (2x the
 * level), which silences that rise whatever the threshold. Here the rise clears every other
 * condition (at least minEvents, twice the level, a Poisson tail far below the threshold's), and
 * only the robust z-score, under 3.5, keeps it silent. Through the rule's SQL on chdb.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runExample } from '../../src/detection/examples.js'
import { tokenUsageSpike } from '../../src/detection/rules/token-usage-spike.js'
import { at, exampleEvents, token } from '../../src/detection/rules/lib/example-events.js'
import { migrate } from '../../src/storage/migrate.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

const storage = testStorage('rules_spike_threshold')
beforeAll(() => migrate(storage, { retention: RETENTION }).then(() => undefined))
afterAll(closeTestStorages)

const ev = exampleEvents('mutation-spike')
const PARAMS = { intervalS: 60, baselineIntervals: 30, minHistoryIntervals: 10 }
// A busy baseline whose bursts reach 1.5 times its level: median 20, 95th percentile 30, so the
// upper-tail spread is ln(1.5) / 1.645 = 0.246 on the log scale.
const BASELINE = [20, 20, 20, 30, 20, 20, 20, 30, 20, 20, 20, 30]

const series = (last: number) =>
  [...BASELINE, last].flatMap((count, i) =>
    Array.from({ length: count }, (_, j) =>
      ev.presented({ occurred_at: at(i * 60 + j), token: token({ jti: `at-${i}` }) }),
    ),
  )
let n = 0
const run = (last: number, params: Record<string, unknown> = {}) =>
  runExample(
    tokenUsageSpike,
    { name: `spike ${++n}`, fires: true, params: { ...PARAMS, ...params }, events: series(last) },
    storage,
    `spike-${n}`,
  )

describe('token-usage-spike: the threshold decides', () => {
  it('stays silent on 45 requests over a level of 20 (z = ln(2.25) / 0.246 = 3.3, under 3.5)', async () => {
    expect(tokenUsageSpike.params.parse({}).threshold).toBe(3.5)
    expect(await run(45)).toEqual([])
  })

  it('fires on the same rise under a lower threshold, and on 60 (z = 4.5) under the default', async () => {
    expect(await run(45, { threshold: 3 })).toHaveLength(1)
    expect(await run(60)).toHaveLength(1)
  })
})
