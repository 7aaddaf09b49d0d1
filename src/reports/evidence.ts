/**
 * The report's queries, all bound to one tenant and [since, until): evidence metrics (the
 * hourly token rollup, events of the partial hours, the daily resource rollup), findings counted
 * per rule, severity and triage status, and the findings list (capped; the counts stay exact).
 */
import { expiredTokenAccepted } from '../detection/rules/expired-token-accepted.js'
import type { Storage } from '../storage/client.js'
import { mapStorageError } from '../storage/errors.js'
import { fromDateTime64, toDateTime64 } from '../events/event-row.js'
import { loadQuery } from '../storage/sql.js'
import type { EventMetricsRow } from './metrics.js'
import type { ReportFinding } from './schema.js'

export interface EvidenceScope {
  tenant: string
  since: number
  until: number
}

export interface FindingCountRow {
  rule_id: string
  severity: ReportFinding['severity']
  status: ReportFinding['status']
  findings: number
  occurrences: number
}

/** At most this many findings are listed in a report. */
export const MAX_LISTED_FINDINGS = 1000

async function run<T>(
  storage: Storage,
  name: string,
  params: Record<string, unknown>,
  fragments?: Record<string, string>,
): Promise<T[]> {
  try {
    const rs = await storage.client.query({
      query: loadQuery(name, storage.database, fragments),
      query_params: params,
      format: 'JSONEachRow',
    })
    return await rs.json<T>()
  } catch (err) {
    throw mapStorageError(err, `compliance report (${name})`)
  }
}

const bounds = (s: EvidenceScope) => ({
  tenant: s.tenant,
  since: toDateTime64(s.since),
  until: toDateTime64(s.until),
})

const HOUR = 3_600_000

/** The per-event counts of the evidence metrics (the rest are per-token figures and drift). */
const COUNTS = [
  'events',
  'presentations',
  'accepted',
  'accepted_validated',
  'accepted_mismatches',
  'token_requests',
  'token_requests_with_resource',
  'loggable_presentations',
  'complete_presentations',
  'mcp_presentations',
] as const satisfies readonly (keyof EventMetricsRow)[]
type Counts = Record<(typeof COUNTS)[number], number>

/** Beyond this many tokens holding a repeat, the whole period is counted again with FINAL. */
export const MAX_REPEATED_TOKENS = 5000

/**
 * The evidence metrics of the period, each event counted once. Two queries run side by side:
 * report-token-metrics.sql (the counts and per-token figures, from the token_usage_hourly rollup
 * for the whole hours of the period and from events for the partial hours at its ends) and
 * report-drift.sql. A token whose events outnumber its distinct event ids holds an event stored
 * twice: its figures stand (maxima and minima that a repeat cannot change), and its events are
 * counted from events, each once (report-event-metrics.sql), or, beyond `maxRepeatedTokens`
 * such tokens, the whole period is counted with FINAL. `final` says whether that read happened.
 * The rollup keeps a repeat until its TTL (events merges its versions sooner), but the sink drops
 * redelivered events before they are stored, so repeats are rare (two writers of one event).
 */
export async function queryEventMetrics(
  storage: Storage,
  scope: EvidenceScope,
  { maxRepeatedTokens = MAX_REPEATED_TOKENS } = {},
): Promise<EventMetricsRow & { final: boolean }> {
  const params = {
    ...bounds(scope),
    full_from: toDateTime64(Math.ceil(scope.since / HOUR) * HOUR),
    full_to: toDateTime64(Math.floor(scope.until / HOUR) * HOUR),
    clock_skew_s: expiredTokenAccepted.params.parse({}).clockSkewS,
    max_repeated: maxRepeatedTokens,
  }
  type DriftRow = Pick<EventMetricsRow, 'drifted_keys' | 'drifted_spellings'>
  type TokenRow = Omit<EventMetricsRow, keyof DriftRow> & {
    tokens_with_repeats: number
    repeated_tokens: string[]
  }
  const first = (
    name: string,
    extra: Record<string, unknown> = {},
    fragments?: Record<string, string>,
  ) =>
    run<Record<string, unknown>>(storage, name, { ...params, ...extra }, fragments).then(
      (rows) => rows[0]!,
    )
  const [tokens, drift] = (await Promise.all([
    first('report-token-metrics'),
    first('report-drift'),
  ])) as [TokenRow, DriftRow]
  const { tokens_with_repeats: repeats, repeated_tokens: repeated, ...figures } = tokens
  if (Number(repeats) === 0) return { ...figures, ...drift, final: false }

  const wholePeriod = Number(repeats) > maxRepeatedTokens
  const again = (await first(
    'report-event-metrics',
    { whole_period: wholePeriod, tokens: wholePeriod ? [] : repeated.map(BigInt) },
    wholePeriod
      ? { final: 'FINAL', one_per_event: '' }
      : { final: '', one_per_event: 'LIMIT 1 BY event_id' },
  )) as Counts
  const counts = Object.fromEntries(
    COUNTS.map((c) => [c, Number(again[c]) + (wholePeriod ? 0 : Number(figures[c]))]),
  ) as Counts
  return { ...figures, ...counts, ...drift, final: true }
}

export async function queryFindingCounts(
  storage: Storage,
  scope: EvidenceScope,
): Promise<FindingCountRow[]> {
  const rows = await run<FindingCountRow>(storage, 'report-finding-counts', bounds(scope))
  return rows.map((r) => ({
    ...r,
    findings: Number(r.findings),
    occurrences: Number(r.occurrences),
  }))
}

type FindingRow = Omit<ReportFinding, 'count' | 'period_occurrences'> & {
  count: number | string
  period_occurrences: number | string
}

export async function queryFindings(
  storage: Storage,
  scope: EvidenceScope,
  limit = MAX_LISTED_FINDINGS,
): Promise<ReportFinding[]> {
  const rows = await run<FindingRow>(storage, 'report-findings', { ...bounds(scope), limit })
  return rows.map((r) => ({
    ...r,
    count: Number(r.count),
    period_occurrences: Number(r.period_occurrences),
    first_seen: fromDateTime64(r.first_seen),
    last_seen: fromDateTime64(r.last_seen),
    period_first_seen: fromDateTime64(r.period_first_seen),
    period_last_seen: fromDateTime64(r.period_last_seen),
  }))
}
