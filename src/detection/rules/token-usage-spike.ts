/** token-usage-spike: a client's request rate at a resource far above its own baseline. */
import { z } from 'zod'
import type { ScheduledRule } from '../rule.js'
import { rowTime } from '../token-state.js'
import { exampleEvents, at, token } from './lib/example-events.js'
import { REF } from './lib/references.js'

const params = z.object({
  intervalS: z
    .number()
    .int()
    .min(1)
    .default(3600)
    .describe('length of one counting interval, in seconds'),
  baselineIntervals: z
    .number()
    .int()
    .min(2)
    .default(168)
    .describe(
      'intervals before the scored one that form the baseline (default: one week of hours)',
    ),
  minHistoryIntervals: z
    .number()
    .int()
    .min(2)
    .default(24)
    .describe("intervals of history (since the pair's first activity) before the rule may fire"),
  threshold: z
    .number()
    .positive()
    .default(3.5)
    .describe('robust z-score above which an interval is a spike'),
  minMad: z
    .number()
    .positive()
    .default(1)
    .describe(
      'floor of the MAD, in requests per interval, so a flat baseline does not make every +1 infinite',
    ),
  minEvents: z
    .number()
    .int()
    .min(1)
    .default(10)
    .describe('requests in the interval, at least, for a spike'),
  maxLatenessS: z
    .number()
    .int()
    .min(0)
    .default(3600)
    .describe(
      "how late (occurred_at before the run's window) an event may arrive and still be scored",
    ),
  maxResults: z
    .number()
    .int()
    .positive()
    .default(1000)
    .describe('detections one run reports at most'),
})
const ev = exampleEvents('token-usage-spike')
const EXAMPLE_PARAMS = { intervalS: 60, baselineIntervals: 30, minHistoryIntervals: 10 }
/** `perMinute[i]` presentations in minute i. */
const minutes = (perMinute: readonly number[]) =>
  perMinute.flatMap((n, i) =>
    Array.from({ length: n }, (_, j) =>
      ev.presented({ occurred_at: at(i * 60 + j), token: token({ jti: `at-${i}` }) }),
    ),
  )
const STEADY = [2, 3, 2, 2, 1, 2, 3, 2, 2, 2, 3, 2]

export const tokenUsageSpike: ScheduledRule<typeof params> = {
  kind: 'scheduled',
  id: 'token-usage-spike',
  title: "Spike in a client's request rate at a resource",
  severity: 'medium',
  description:
    'Presentations per client and canonical resource are counted per interval. An interval is a ' +
    'spike when its robust z-score 0.6745 * (x - median) / MAD against the preceding intervals ' +
    '(at most `baselineIntervals`, zero-filled from the first activity of the pair) exceeds ' +
    '`threshold`, with at least `minEvents` requests and `minHistoryIntervals` of history. Each ' +
    'interval is reported once, by the run whose events carry it over the threshold.',
  rationale:
    'Median and MAD resist the outliers a mean and standard deviation absorb, so the baseline ' +
    'stays honest after earlier bursts. A sudden jump in one client at one server is how a ' +
    'runaway or hijacked agent (OWASP ASI10, ASI08) and a stolen token being exploited look from ' +
    'the resource side; SP 800-207 tenet 4 expects behaviour to inform access policy.',
  references: [REF.nist800207, REF.mcpTokenTheft],
  mappings: {
    owasp_nhi: ['NHI2'],
    owasp_asi: ['ASI10', 'ASI08'],
    nist_csf: ['DE.CM-09', 'DE.CM-03', 'DE.AE-02'],
    nist_800_53: ['SI-4', 'AU-6', 'CA-7'],
    nist_800_207: ['tenet-4', 'tenet-7'],
    mitre: ['T1550.001'],
  },
  falsePositives: [
    'Batch jobs, backfills and releases that change a client workload on purpose.',
    'Strong daily or weekly seasonality: compare with the same hour on earlier days before acting.',
  ],
  runbook: [
    'Compare `x` (requests in the interval) with `median` and the tools or paths called in the events.',
    'Check whether the token or client is used from new networks (`token-multi-source`) or new resources.',
    'If the workload is unexplained, throttle or suspend the client and review what it accessed.',
  ],
  params,
  dedupKey: ['client_id', 'resource'],
  dedupWindowS: 3600,
  sql: 'token-usage-spike',
  queryParams: (p) => ({
    interval_s: p.intervalS,
    baseline_intervals: p.baselineIntervals,
    min_history: p.minHistoryIntervals,
    threshold: p.threshold,
    min_mad: p.minMad,
    min_events: p.minEvents,
    lookback_s: (p.baselineIntervals + 1) * p.intervalS + p.maxLatenessS,
    max_results: p.maxResults,
  }),
  toDetection(row, ctx) {
    const bucket = Number(row.bucket)
    return {
      tenant: String(row.tenant),
      keys: { client_id: String(row.client_id), resource: String(row.resource) },
      evidence: {
        interval_start: new Date(bucket * 1000).toISOString(),
        interval_s: ctx.params.intervalS,
        requests: Number(row.x),
        baseline_median: Number(row.median),
        baseline_mad: Number(row.mad),
        baseline_intervals: Number(row.history),
        robust_z: Math.round(Number(row.z) * 100) / 100,
        threshold: ctx.params.threshold,
      },
      eventIds: row.event_ids as string[],
      at: rowTime(String(row.last_occurred)),
    }
  },
  examples: [
    {
      name: 'twelve quiet minutes, then thirty requests in one',
      fires: true,
      params: EXAMPLE_PARAMS,
      events: minutes([...STEADY, 30]),
    },
    {
      name: 'a steady rate',
      fires: false,
      params: EXAMPLE_PARAMS,
      events: minutes([...STEADY, 3]),
    },
    {
      name: 'a burst before the minimum history',
      fires: false,
      params: EXAMPLE_PARAMS,
      events: minutes([2, 2, 3, 30]),
    },
  ],
}
