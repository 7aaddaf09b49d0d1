/**
 * The report's queries, all bound to one tenant and [since, until): evidence metrics (the
 * hourly token rollup, events of the partial hours, the daily resource rollup), findings counted
 * per rule, severity and triage status, and the findings list (capped; the counts stay exact).
 */
import { expiredTokenAccepted } from '../detection/rules/expired-token-accepted.js'
import { fromDateTime64 } from '../events/event-row.js'
import type { EvidenceCounts, ReportScope, Repositories } from '../storage/repositories.js'
import type { EventMetricsRow } from './metrics.js'
import type { ReportFinding } from './schema.js'

export type EvidenceScope = ReportScope

/** The report's queries (repositories.ts, ReportsRepository). */
type ReportsStorage = Pick<Repositories, 'reports'>

export interface FindingCountRow {
  rule_id: string
  severity: ReportFinding['severity']
  status: ReportFinding['status']
  findings: number
  occurrences: number
}

/** At most this many findings are listed in a report. */
export const MAX_LISTED_FINDINGS = 1000

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
] as const satisfies readonly (keyof EventMetricsRow & keyof EvidenceCounts)[]
type Counts = Record<(typeof COUNTS)[number], number>

/** Beyond this many tokens holding a repeat, the whole period is counted again with FINAL. */
export const MAX_REPEATED_TOKENS = 5000

/**
 * The evidence metrics of the period, each event counted once. Two reads run side by side: the
 * repository's tokenMetrics (report-token-metrics.sql, the counts and per-token figures, from the
 * token_usage_hourly rollup for the whole hours of the period and from report_event_facts,
 * migration 0016, for the partial hours at its ends, beside report-token-repeats.sql, the tokens
 * holding a repeat) and report-drift.sql. A token whose events outnumber its distinct event ids
 * holds an event stored twice: its figures stand (maxima and minima that a repeat cannot change),
 * and its events are counted from events, each once (report-event-metrics.sql), or, beyond
 * `maxRepeatedTokens` such tokens, the whole period is counted with FINAL. `final` says whether
 * that read happened. The rollup keeps a repeat until its TTL (events merges its versions
 * sooner), but the sink drops redelivered events before they are stored, so repeats are rare
 * (two writers of one event).
 */
export async function queryEventMetrics(
  storage: ReportsStorage,
  scope: EvidenceScope,
  { maxRepeatedTokens = MAX_REPEATED_TOKENS } = {},
): Promise<EventMetricsRow & { final: boolean }> {
  const { reports } = storage
  const [tokens, drift] = await Promise.all([
    reports.tokenMetrics(scope, {
      clockSkewS: expiredTokenAccepted.params.parse({}).clockSkewS,
      maxRepeated: maxRepeatedTokens,
    }),
    reports.drift(scope),
  ])
  const { tokens_with_repeats: repeats, repeated_tokens: repeated, ...figures } = tokens
  if (Number(repeats) === 0) return { ...figures, ...drift, final: false }

  const wholePeriod = Number(repeats) > maxRepeatedTokens
  const again = await reports.eventCounts(scope, wholePeriod ? 'all' : repeated.map(BigInt))
  const counts = Object.fromEntries(
    COUNTS.map((c) => [c, Number(again[c]) + (wholePeriod ? 0 : Number(figures[c]))]),
  ) as Counts
  return { ...figures, ...counts, ...drift, final: true }
}

export async function queryFindingCounts(
  storage: ReportsStorage,
  scope: EvidenceScope,
): Promise<FindingCountRow[]> {
  return (await storage.reports.findingCounts(scope)) as FindingCountRow[]
}

export async function queryFindings(
  storage: ReportsStorage,
  scope: EvidenceScope,
  limit = MAX_LISTED_FINDINGS,
): Promise<ReportFinding[]> {
  const rows = await storage.reports.findings(scope, limit)
  return rows.map((r) => ({
    ...(r as Omit<
      ReportFinding,
      'first_seen' | 'last_seen' | 'period_first_seen' | 'period_last_seen'
    >),
    first_seen: fromDateTime64(r.first_seen),
    last_seen: fromDateTime64(r.last_seen),
    period_first_seen: fromDateTime64(r.period_first_seen),
    period_last_seen: fromDateTime64(r.period_last_seen),
  }))
}
