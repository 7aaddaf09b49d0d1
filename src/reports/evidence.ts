/**
 * The report's three queries, all bound to one tenant and [since, until): evidence metrics (one
 * scan of events), findings counted per rule, severity and triage status, and the findings list
 * (capped; the counts stay exact).
 */
import { expiredTokenAccepted } from '../detection/rules/expired-token-accepted.js'
import type { Storage } from '../storage/client.js'
import { mapStorageError } from '../storage/errors.js'
import { fromDateTime64, toDateTime64 } from '../storage/event-row.js'
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

/**
 * The evidence metrics of the period, each event counted once: read without FINAL, and again with
 * FINAL only when the period holds an event stored twice (see report-event-metrics.sql).
 * `final` says which read the figures come from.
 */
export async function queryEventMetrics(
  storage: Storage,
  scope: EvidenceScope,
): Promise<EventMetricsRow & { final: boolean }> {
  const params = {
    ...bounds(scope),
    clock_skew_s: expiredTokenAccepted.params.parse({}).clockSkewS,
  }
  type Row = EventMetricsRow & { tokens_with_repeats: number }
  const [plain] = await run<Row>(storage, 'report-event-metrics', params, { final: '' })
  if (Number(plain!.tokens_with_repeats) === 0) return { ...plain!, final: false }
  const [row] = await run<Row>(storage, 'report-event-metrics', params, { final: 'FINAL' })
  return { ...row!, final: true }
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
