/** new-resource-for-client: an established client uses a resource for the first time. */
import { z } from 'zod'
import type { ScheduledRule } from '../rule.js'
import { exampleEvents, API, at, token } from './lib/example-events.js'
import { lookbackDays, maxResults } from './lib/params.js'
import { REF } from './lib/references.js'
import { resultDetection } from './lib/scheduled.js'

const DAY_S = 86_400
const params = z
  .object({
    baselineDays: z
      .number()
      .min(0)
      .default(7)
      .describe('history the client needs before a first use counts as new, in days'),
    minBaselineEvents: z
      .number()
      .int()
      .min(0)
      .default(10)
      .describe('events of the client on days before the first use, at least'),
    lookbackDays: lookbackDays(
      'how far back earlier use is searched, in days; a resource unused for longer is new again',
    ),
    maxResults: maxResults(),
  })
  .refine((p) => p.lookbackDays >= p.baselineDays, {
    message: 'lookbackDays must cover baselineDays',
  })
const ev = exampleEvents('new-resource-for-client')
const atApi = (seconds: number) =>
  ev.presented({
    occurred_at: at(seconds),
    source: { kind: 'resource_server', id: 'billing-api' },
    token: token({ jti: `at-api-${seconds}`, aud: [API] }),
    resource: API,
    presented_aud: [API],
  })
/** `n` presentations at the MCP server spread over `days`, one token each. */
const history = (n: number, days: number) =>
  Array.from({ length: n }, (_, i) =>
    ev.presented({
      occurred_at: at(Math.round((i * days * DAY_S) / n)),
      token: token({ jti: `at-h${i}` }),
    }),
  )

export const newResourceForClient: ScheduledRule<typeof params> = {
  kind: 'scheduled',
  id: 'new-resource-for-client',
  title: 'Client used a resource for the first time',
  severity: 'low',
  description:
    'A client presented a token at a canonical resource it had not used within the lookback, ' +
    'after a baseline: its first event lies at least `baselineDays` before, and it had at least ' +
    '`minBaselineEvents` events on earlier days. New clients never fire (no baseline yet). ' +
    'Decided once per client and resource: the run that receives the first use reports it.',
  rationale:
    'Agents and services have stable working sets. A first call to a new server is where an ' +
    'injected goal, a confused deputy or a stolen client credential shows up (OWASP ASI03, ASI10), ' +
    'and zero trust expects access decisions to use observed behaviour (SP 800-207 tenet 4). Low ' +
    'severity: it is context for other findings as much as a finding itself.',
  references: [REF.nist800207, REF.mcpPrivilege],
  mappings: {
    owasp_nhi: ['NHI5', 'NHI9'],
    owasp_asi: ['ASI03', 'ASI10'],
    nist_csf: ['DE.CM-09', 'DE.CM-03', 'DE.AE-02'],
    nist_800_53: ['SI-4', 'AU-6', 'CA-7'],
    nist_800_207: ['tenet-4', 'tenet-7'],
    mcp_2026_07_28: [],
    mitre: ['T1078'],
  },
  falsePositives: [
    'A newly deployed server, or a new feature of the client: expected after a release.',
    'A resource renamed or re-spelled (a new canonical form): see `resource-uri-drift`.',
  ],
  runbook: [
    'Check whether the client was expected to use the resource (release notes, owner of the client).',
    'Look at the decisions: a rejected first use is an attempt; an accepted one is new access.',
    'Correlate with findings for the same client (`cross-audience-replay`, `token-usage-spike`).',
  ],
  params,
  dedupKey: ['client_id', 'resource'],
  dedupWindowS: 30 * DAY_S,
  sql: 'new-resource-for-client',
  queryParams: (p) => ({
    baseline_s: Math.round(p.baselineDays * DAY_S),
    min_baseline_events: p.minBaselineEvents,
    lookback_s: p.lookbackDays * DAY_S,
    max_results: p.maxResults,
  }),
  toDetection(row) {
    return resultDetection(
      row,
      'first_used',
      { client_id: String(row.client_id), resource: String(row.resource) },
      {
        resource: row.resource_raw,
        resource_canonical: row.resource,
        first_used: row.first_used,
        last_used: row.last_used,
        uses: Number(row.uses),
        decisions: row.decisions,
        client_first_seen: row.client_first,
        baseline_events: Number(row.baseline_events),
        other_resources: row.other_resources,
      },
    )
  },
  examples: [
    {
      name: 'an established client calls the billing API for the first time',
      fires: true,
      // The history ends 2.6 days before the first use: every event is on an earlier day at any
      // time of day (the scenario test shifts examples to end a minute ago). Spread over 8 days
      // it ended 19 h before, on the same UTC day after 19:22, and the rule rightly stayed silent.
      events: [...history(10, 6), atApi(8 * DAY_S + 600)],
    },
    {
      name: 'a new client uses two resources from the start',
      fires: false,
      events: [...history(10, 1), atApi(3600)],
    },
    {
      name: 'a resource already in the working set',
      fires: false,
      events: [atApi(0), ...history(10, 8), atApi(8 * DAY_S + 600)],
    },
    {
      name: 'too little history before the first use',
      fires: false,
      events: [...history(3, 8), atApi(8 * DAY_S + 600)],
    },
  ],
}
