/**
 * A report's scope and provenance (docs/reports.md): the sources that reported in the period and
 * those silent in it, sample events of the failing controls' findings, the findings closed by an
 * analyst (who, when, the note), and the versions of what produced the report: audtrail's
 * package version, the rule set's digest and the framework catalog's digest.
 */
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { RULES } from '../detection/rules/index.js'
import type { Repositories } from '../storage/repositories.js'
import { fromDateTime64 } from '../events/event-row.js'
import { canonicalJson } from '../events/canonical.js'
import type { Framework } from './control.js'
import type { EvidenceScope } from './evidence.js'
import type { ReportClosedFinding, ReportFinding, ReportSampleEvent } from './schema.js'

/** At most this many sources are listed (the busiest first); more is a sign of misconfiguration. */
export const MAX_SOURCES = 1000
/** Silent sources: those seen in this many days before the period and not in it. */
export const SILENT_LOOKBACK_DAYS = 30

/** Sample events per rule with findings in the period. */
export const SAMPLES_PER_RULE = 5
/** Closed findings listed (most recently closed first). */
export const MAX_CLOSED_FINDINGS = 1000

/** The report's provenance queries (repositories.ts, ReportsRepository). */
type ReportsStorage = Pick<Repositories, 'reports'>

export interface SourceRow {
  kind: string
  id: string
  /** Stored events in the period. */
  events: number
  /** First event in the period; absent for a silent source. */
  period_first_seen?: string
  /** Last event before the period's end. */
  last_seen: string
}

/**
 * Sources that reported in the period (events > 0) and those seen in the SILENT_LOOKBACK_DAYS
 * before it but not in it (silent).
 */
export async function querySources(
  storage: ReportsStorage,
  scope: EvidenceScope,
  limit = MAX_SOURCES,
): Promise<{ reporting: SourceRow[]; silent: SourceRow[]; truncated: boolean }> {
  const rows = await storage.reports.sources(
    scope,
    scope.since - SILENT_LOOKBACK_DAYS * 86_400_000,
    limit + 1,
  )
  const all = rows.slice(0, limit).map((r): SourceRow => {
    const events = Number(r.events)
    return {
      kind: r.source_kind,
      id: r.source_id,
      events,
      ...(events > 0 ? { period_first_seen: fromDateTime64(r.period_first_seen) } : {}),
      last_seen: fromDateTime64(r.last_seen),
    }
  })
  return {
    reporting: all.filter((s) => s.events > 0),
    silent: all.filter((s) => s.events === 0),
    truncated: rows.length > limit,
  }
}

export type SampleEvent = ReportSampleEvent

/** Up to `perRule` sample events of each rule's findings in the period. */
export async function querySampleEvents(
  storage: ReportsStorage,
  scope: EvidenceScope,
  rules: readonly string[],
  perRule = SAMPLES_PER_RULE,
): Promise<SampleEvent[]> {
  if (rules.length === 0 || perRule === 0) return []
  const rows = await storage.reports.sampleEvents(scope, rules, perRule)
  return rows.map((r) => ({
    rule_id: String(r.rule_id),
    finding_id: String(r.finding_id),
    event_id: String(r.event_id),
    event_type: String(r.event_type),
    occurred_at: fromDateTime64(String(r.occurred_at)),
    source: { kind: String(r.source_kind), id: String(r.source_id) },
    client_id: String(r.client_id),
    token_key: String(r.token_key),
    resource: String(r.resource),
    presented_aud: (r.presented_aud as string[]) ?? [],
    requested_resources: (r.requested_resources as string[]) ?? [],
    granted_aud: (r.granted_aud as string[]) ?? [],
    aud_match: String(r.aud_match),
    aud_validated:
      r.aud_validated === null || r.aud_validated === undefined ? null : Boolean(r.aud_validated),
    decision: String(r.decision),
    reason: String(r.reason),
    tool_method: String(r.tool_method),
    tool_name: String(r.tool_name),
    http_status:
      r.http_status === null || r.http_status === undefined ? null : Number(r.http_status),
  }))
}

export type ClosedFinding = ReportClosedFinding

/** Findings of the period closed by an analyst, most recently closed first. */
export async function queryClosedFindings(
  storage: ReportsStorage,
  scope: EvidenceScope,
  limit = MAX_CLOSED_FINDINGS,
): Promise<{ findings: ClosedFinding[]; truncated: boolean }> {
  const rows = await storage.reports.closedFindings(scope, limit + 1)
  return {
    // The query keeps severity and status to the schema's values (closed: resolved or false positive).
    findings: rows
      .slice(0, limit)
      .map((r) => ({ ...r, closed_at: fromDateTime64(r.closed_at) }) as ClosedFinding),
    truncated: rows.length > limit,
  }
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex')

/** audtrail's version, from its package.json (src/reports and dist/reports alike). */
export const AUDTRAIL_VERSION = (
  createRequire(import.meta.url)('../../package.json') as { version: string }
).version

/**
 * The rule set's version: SHA-256 of the canonical JSON (RFC 8785) of every rule's id, kind,
 * severity, default parameters, dedup key and window, and framework mappings, sorted by id. It
 * changes when a rule is added, removed, re-parameterised or re-mapped; a change of a rule's code
 * alone shows in audtrail's version.
 */
export function ruleSetVersion(): { digest: string; rules: number; ids: string[] } {
  const rules = [...RULES]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((r) => ({
      id: r.id,
      kind: r.kind,
      severity: r.severity,
      params: r.params.parse({}) as unknown,
      dedup_key: [...r.dedupKey],
      dedup_window_s: r.dedupWindowS,
      mappings: r.mappings,
    }))
  return { digest: sha256(canonicalJson(rules)), rules: rules.length, ids: rules.map((r) => r.id) }
}

/**
 * The catalog's version for the frameworks of a report: SHA-256 of the canonical JSON of their
 * ids, titles, sources and controls (ids, titles, citations, metrics, rules).
 */
export function catalogVersion(frameworks: readonly Framework[]): string {
  return sha256(
    canonicalJson(
      frameworks.map((f) => ({
        id: f.id,
        title: f.title,
        source: f.source,
        controls: f.controls.map((c) => ({
          id: c.id,
          title: c.title,
          citation: c.citation,
          metrics: [...c.metrics],
          rules: [...c.rules],
        })),
      })),
    ),
  )
}

/** The most severe open or acknowledged findings listed per rule, whatever the list's cap. */
export const TOP_FINDINGS_PER_RULE = 5

/**
 * Up to `perRule` most severe open or acknowledged findings of each rule in the period
 * (report-top-findings.sql), so that every control can name its own most severe findings.
 */
export async function queryTopFindings(
  storage: ReportsStorage,
  scope: EvidenceScope,
  perRule = TOP_FINDINGS_PER_RULE,
): Promise<ReportFinding[]> {
  const rows = (await storage.reports.topFindings(scope, perRule)) as (Omit<
    ReportFinding,
    'count' | 'period_occurrences'
  > & {
    count: number | string
    period_occurrences: number | string
  })[]
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
