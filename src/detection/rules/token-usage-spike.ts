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
  minActiveIntervals: z
    .number()
    .int()
    .min(1)
    .default(3)
    .describe(
      "intervals of the baseline with any request for a pair to be judged on its own burst size and spread; a pair with fewer (at least one) borrows them from the tenant's established pairs of the run, as floors",
    ),
  threshold: z
    .number()
    .positive()
    .default(3.5)
    .describe(
      'robust z-score above which an interval is a spike; its normal tail is also the over-dispersed Poisson tail an interval must fall below',
    ),
  minMad: z
    .number()
    .positive()
    .default(1)
    .describe(
      'floor of the MAD, in requests per interval, so a flat baseline does not make every +1 infinite',
    ),
  minRatio: z
    .number()
    .min(1)
    .default(2)
    .describe('requests in the interval, at least this many times the baseline median (or 1)'),
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
/**
 * P(Z > z) of a standard normal: the Poisson tail that matches the z threshold (Abramowitz and
 * Stegun 7.1.26 for erfc, absolute error under 1.5e-7).
 */
export function normalTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2
  const t = 1 / (1 + 0.3275911 * x)
  const poly =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
  const erfc = poly * Math.exp(-x * x)
  return z >= 0 ? erfc / 2 : 1 - erfc / 2
}
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
/**
 * Sessions of ten requests, each with its own token, two seconds apart from second 50 of the
 * minutes in `starts` (each cut in two by the minute's edge: five and five), then `last`
 * requests in minute 30, half a second apart, in sessions of ten, each whole.
 */
const straddling = (starts: readonly number[], last: number) => [
  ...starts.flatMap((m) =>
    Array.from({ length: 10 }, (_, j) =>
      ev.presented({ occurred_at: at(m * 60 + 50 + 2 * j), token: token({ jti: `s-${m}` }) }),
    ),
  ),
  ...Array.from({ length: last }, (_, j) =>
    ev.presented({
      occurred_at: at(30 * 60 + j / 2),
      token: token({ jti: `burst-${Math.floor(j / 10)}` }),
    }),
  ),
]
const EVERY_FIVE = [0, 5, 10, 15, 20, 25]

export const tokenUsageSpike: ScheduledRule<typeof params> = {
  kind: 'scheduled',
  id: 'token-usage-spike',
  title: "Spike in a client's request rate at a resource",
  severity: 'medium',
  description:
    'Presentations per client and canonical resource are counted per interval and scored against ' +
    'the preceding intervals (at most `baselineIntervals`, zero-filled from the first activity of ' +
    'the pair, at least `minHistoryIntervals` of them). The level is the median of the active ' +
    'intervals, or of the same time of day on earlier days when higher (a nightly batch). A spike ' +
    'passes three tests: its z-score on the log scale, (ln x - ln level) / spread, exceeds ' +
    '`threshold`, where the spread is the larger of the upper-tail spread (ln q95 - ln level) / ' +
    '1.645 and ln(1 + `minMad` / level) / 0.6745; its over-dispersed Poisson tail ' +
    'P(X >= x / phi) at rate max(level, 1) / phi is below the normal tail of `threshold`, where ' +
    "phi (at least 1) is the largest of the variance-to-mean ratios of the pair's zero-filled " +
    'baseline, by interval and by two consecutive intervals, each capped at the active 95th ' +
    "percentile, and of its sessions: the 95th percentile of the requests of the baseline's " +
    'tokens used within two consecutive intervals, times the share of idle intervals; and x is at least ' +
    '`minEvents` and `minRatio` times the level. An established pair is also judged on the ' +
    'two intervals ending at the scored one, by the same tests against the two-interval windows ' +
    'of its baseline, so a burst cut in two by an interval edge is seen whole. A pair with ' +
    'fewer than `minActiveIntervals` active intervals ' +
    "(at least one) takes the median phi and spread of the tenant's pairs with enough of them in " +
    'the same run as floors, and is not judged without such pairs. Each interval is reported ' +
    'once, by the run whose events carry it over all three.',
  rationale:
    'Median and MAD resist the outliers a mean and standard deviation absorb, so the baseline ' +
    'stays honest after earlier bursts. At a few requests an interval the MAD of whole counts is ' +
    '0 or 1 and a z-score alone calls any busier hour a spike: the Poisson tail judges such low ' +
    'counts by their own law (3 to 10 at a median of 3 is ordinary), the upper-tail spread lets a ' +
    'pair whose busier hours recur keep them, and the ratio asks a spike to at least double the ' +
    'baseline. Requests come in sessions, so hourly counts are over-dispersed: the dispersion ' +
    "estimated from the pair's own history (about one session's size for a pair used in " +
    'bursts, about 1 for a steady stream) makes three sessions in one hour ordinary and thirty ' +
    'not, and needs only a few active intervals to be known. Sessions do not keep to clock ' +
    'hours: one cut in two by an hour edge makes two small hours, so the burst size is also read ' +
    'from two-hour windows and from the sessions (tokens) themselves, and a spike cut in two is ' +
    'judged over both hours. A sudden jump in one client at one server is how a ' +
    'runaway or hijacked agent (OWASP ASI10, ASI08) and a stolen token being exploited look from ' +
    'the resource side; SP 800-207 tenet 4 expects behaviour to inform access policy.',
  references: [REF.nist800207, REF.mcpTokenTheft],
  mappings: {
    owasp_nhi: ['NHI2'],
    owasp_asi: ['ASI10', 'ASI08'],
    nist_csf: ['DE.CM-09', 'DE.CM-03', 'DE.AE-02'],
    nist_800_53: ['SI-4', 'AU-6', 'CA-7'],
    nist_800_207: ['tenet-4', 'tenet-7'],
    mcp_2026_07_28: [],
    mitre: ['T1550.001'],
  },
  falsePositives: [
    'Batch jobs, backfills and releases that change a client workload on purpose.',
    'Weekly seasonality (a Monday report): the same time of day is compared, the same weekday is not; a pair first seen on a weekend can fire on its first working morning.',
    'A rare pair (a few active hours a week) gets a much bigger hour than any before: judged in units of its own bursts, it fires from about seven to ten times their level.',
    'A steady pair (a scheduled job) that doubles once: at a high, steady rate a twofold rise is significant and fires; raise `minRatio` for pairs whose volume is expected to vary so.',
    'A client that reuses one token for several sessions within two intervals: they count as one larger session, so its spikes must be larger to fire (quieter, never noisier).',
  ],
  runbook: [
    "Compare `requests` with `baseline_median`, `baseline_q95` (the busiest ordinary intervals) and `ratio`, and the tools or paths called in the events; `poisson_p` is how unlikely the count is at the median rate, counted in units of `dispersion` (the pair's usual burst size; `session_dispersion` is the part read from its `baseline_sessions` tokens).",
    '`window_intervals: 2`: the burst straddled an interval edge and was judged over the two intervals from `interval_start` (`interval_requests` is the later one alone); the medians and percentiles are then of two-interval windows.',
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
    min_ratio: p.minRatio,
    min_active: p.minActiveIntervals,
    max_p: normalTail(p.threshold),
    min_events: p.minEvents,
    lookback_s: (p.baselineIntervals + 1) * p.intervalS + p.maxLatenessS,
    max_results: p.maxResults,
  }),
  toDetection(row, ctx) {
    // The window that fired: the scored interval, or it and the one before (a burst cut in two).
    const window = Number(row.window_intervals)
    const start = Number(row.bucket) - (window - 1) * ctx.params.intervalS
    const requests = Number(row.w_x)
    const median = Number(row.w_median)
    return {
      tenant: String(row.tenant),
      keys: { client_id: String(row.client_id), resource: String(row.resource) },
      evidence: {
        interval_start: new Date(start * 1000).toISOString(),
        interval_s: ctx.params.intervalS,
        window_intervals: window,
        requests,
        interval_requests: Number(row.interval_x),
        baseline_median: median,
        baseline_mad: Number(row.mad),
        baseline_q95: Number(row.w_q95),
        ratio: Math.round((requests / Math.max(median, 1)) * 100) / 100,
        poisson_p: Number(Number(row.w_p).toPrecision(3)),
        dispersion: Math.round(Number(row.phi) * 100) / 100,
        session_dispersion: Math.round(Number(row.own_phi_sessions) * 100) / 100,
        baseline_sessions: Number(row.baseline_sessions),
        // false: judged with the dispersion and spread of the tenant's established pairs
        own_history: Boolean(Number(row.established)),
        baseline_intervals: Number(row.history),
        active_intervals: Number(row.active_intervals),
        seasonal_median: Number(row.w_seasonal),
        robust_z: Math.round(Number(row.w_z) * 100) / 100,
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
      name: 'a low-rate pair (about 4 a minute) with one ordinary busier minute of 11',
      fires: false,
      params: EXAMPLE_PARAMS,
      events: minutes([4, 3, 5, 4, 4, 3, 5, 4, 4, 3, 4, 5, 11]),
    },
    {
      name: 'a pair whose busier minutes recur, at one more of them',
      fires: false,
      params: EXAMPLE_PARAMS,
      events: minutes([2, 3, 14, 2, 2, 3, 2, 15, 2, 3, 2, 13, 2, 2, 3, 2, 16, 2, 2, 3, 16]),
    },
    {
      name: 'the same low-rate pair hijacked: forty requests in one minute',
      fires: true,
      params: EXAMPLE_PARAMS,
      events: minutes([4, 3, 5, 4, 4, 3, 5, 4, 4, 3, 4, 5, 40]),
    },
    {
      name: 'sessions of ten cut in two by minute edges, then three whole sessions in one minute',
      fires: false,
      params: EXAMPLE_PARAMS,
      events: straddling(EVERY_FIVE, 30),
    },
    {
      name: 'the same client hijacked: eighty requests in one minute',
      fires: true,
      params: EXAMPLE_PARAMS,
      events: straddling(EVERY_FIVE, 80),
    },
    {
      name: 'a burst of eighteen cut in two by a minute edge, nine and nine',
      fires: true,
      params: EXAMPLE_PARAMS,
      events: minutes([...STEADY, 9, 9]),
    },
    {
      name: 'a burst before the minimum history',
      fires: false,
      params: EXAMPLE_PARAMS,
      events: minutes([2, 2, 3, 30]),
    },
  ],
}
