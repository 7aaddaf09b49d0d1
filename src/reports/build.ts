/**
 * buildComplianceReport: the evidence of one tenant over [since, until) (three queries), every
 * metric evaluated against its threshold, and every control of the requested frameworks decided
 * by `decideStatus` (see status.ts for the rule the report also states); then its scope and
 * provenance (sources reporting and silent, versions), sample events of the failing controls'
 * rules and the closed findings (provenance.ts), and its integrity member (integrity.ts).
 */
import type { KeyObject } from 'node:crypto'
import type { Storage } from '../storage/client.js'
import { querySenderConstraint } from '../storage/report-sender-constraint.js'
import type { FrameworkId } from './control.js'
import {
  MAX_LISTED_FINDINGS,
  queryEventMetrics,
  queryFindingCounts,
  queryFindings,
  type EvidenceScope,
} from './evidence.js'
import { FRAMEWORKS } from './frameworks.js'
import {
  DEFAULT_THRESHOLDS,
  METRIC_IDS,
  METRICS,
  metricFigures,
  type MetricFigure,
  type MetricId,
  type Threshold,
} from './metrics.js'
import { sealReport } from './integrity.js'
import {
  AUDTRAIL_VERSION,
  catalogVersion,
  queryClosedFindings,
  querySampleEvents,
  querySources,
  queryTopFindings,
  ruleSetVersion,
  SAMPLES_PER_RULE,
} from './provenance.js'
import { MAX_PERIOD_DAYS, requestedFrameworks } from './request.js'
import type { ComplianceReport, ReportFramework, ReportMetric } from './schema.js'
import { COUNTING_TRIAGE, DECISION_RULE, decideStatus, type MetricStatus } from './status.js'

export interface ReportProgress {
  step: string
  done: number
  total: number
}

export interface ReportOptions {
  tenant: string
  framework: FrameworkId | 'all'
  /** ISO-8601 text, epoch milliseconds or a Date; inclusive. */
  since: string | number | Date
  /** Exclusive. */
  until: string | number | Date
  onProgress?: (progress: ReportProgress) => void
  /** Overrides of DEFAULT_THRESHOLDS; `null` makes a metric informational. */
  thresholds?: Partial<Record<MetricId, Threshold | null>>
  /** The report's generation time (ms); defaults to now. */
  now?: number
  /** An Ed25519 private key (integrity.ts `loadSigningKey`): the JSON report is then signed. */
  signingKey?: KeyObject
  /** Sample events per rule of the failing controls (default SAMPLES_PER_RULE; 0: none). */
  samplesPerRule?: number
}

function instant(value: string | number | Date, name: string): number {
  const ms = value instanceof Date ? value.getTime() : new Date(value).getTime()
  if (!Number.isFinite(ms)) throw new TypeError(`buildComplianceReport: ${name} is not a time`)
  return ms
}

function metricStatus(figure: MetricFigure, threshold: Threshold | null): MetricStatus {
  if (figure.value === null) return 'no_evidence'
  if (threshold === null) return 'informational'
  const ok =
    threshold.op === 'min' ? figure.value >= threshold.value : figure.value <= threshold.value
  return ok ? 'pass' : 'fail'
}

export async function buildComplianceReport(
  storage: Storage,
  options: ReportOptions,
): Promise<ComplianceReport> {
  const scope: EvidenceScope = {
    tenant: options.tenant,
    since: instant(options.since, 'since'),
    until: instant(options.until, 'until'),
  }
  if (scope.since >= scope.until)
    throw new RangeError('buildComplianceReport: since must be before until')
  if (scope.until - scope.since > MAX_PERIOD_DAYS * 86_400_000)
    throw new RangeError(
      `buildComplianceReport: the period may span at most ${MAX_PERIOD_DAYS} days`,
    )
  // The reads do not depend on one another: they run side by side (the engine answers each on
  // its own connection of the pool), and progress counts them as they end. Only the sample
  // events wait, for the failing controls that choose their rules.
  const total = 8
  const progress = (step: string, done: number) => options.onProgress?.({ step, done, total })
  progress('reading', 0)
  let read = 0
  const step = <T>(name: string, pending: Promise<T>): Promise<T> =>
    pending.then((value) => {
      progress(name, ++read)
      return value
    })
  const [row, senderOnce, counts, listed, top, sources, closed] = await Promise.all([
    step('event metrics', queryEventMetrics(storage, scope)),
    step('sender constraint', querySenderConstraint(storage, scope)),
    step('finding counts', queryFindingCounts(storage, scope)),
    step('findings', queryFindings(storage, scope, MAX_LISTED_FINDINGS)),
    step('most severe findings', queryTopFindings(storage, scope)),
    step('sources', querySources(storage, scope)),
    step('closed findings', queryClosedFindings(storage, scope)),
  ])
  // An event stored twice in the period: the sender-constraint counts again with FINAL.
  const sender = row.final
    ? await querySenderConstraint(storage, scope, { final: true })
    : senderOnce
  // Each rule's most severe open findings too, so every control names its own (listed after the
  // capped list when it did not hold them).
  const seen = new Set(listed.map((f) => f.id))
  const findings = [...listed, ...top.filter((f) => !seen.has(f.id))]

  const figures = metricFigures(row, sender)
  const metrics: ReportMetric[] = METRIC_IDS.map((id) => {
    const threshold =
      options.thresholds?.[id] !== undefined ? options.thresholds[id] : DEFAULT_THRESHOLDS[id]
    const f = figures[id]
    return {
      id,
      title: METRICS[id].title,
      unit: METRICS[id].unit,
      description: METRICS[id].description,
      value: f.value,
      ...(f.numerator === undefined ? {} : { numerator: f.numerator }),
      basis: f.basis,
      basis_description: METRICS[id].basis,
      threshold: threshold ?? null,
      status: metricStatus(f, threshold ?? null),
    }
  })
  const metricById = new Map(metrics.map((m) => [m.id, m]))
  const metricStatusById = Object.fromEntries(metrics.map((m) => [m.id, m.status])) as Record<
    MetricId,
    MetricStatus
  >
  const counting = (status: string) => (COUNTING_TRIAGE as readonly string[]).includes(status)
  const countingFindings = new Map<string, number>()
  for (const c of counts)
    if (counting(c.status))
      countingFindings.set(c.rule_id, (countingFindings.get(c.rule_id) ?? 0) + c.findings)

  const catalog = requestedFrameworks(options.framework).map((id) => FRAMEWORKS[id])
  const frameworks: ReportFramework[] = catalog.map((fw) => {
    const id = fw.id
    const controls = fw.controls.map((c) => {
      const decision = decideStatus(c, {
        metricStatus: metricStatusById,
        countingFindings,
        metrics: metricById,
      })
      return {
        id: c.id,
        title: c.title,
        ...(c.citation ? { citation: c.citation } : {}),
        ...(c.note ? { note: c.note } : {}),
        status: decision.status,
        reason: decision.reason,
        metrics: [...c.metrics],
        rules: [...c.rules],
        findings: findings
          .filter((f) => c.rules.includes(f.rule_id) && counting(f.status))
          .map((f) => f.id),
        finding_count: c.rules.reduce((n, r) => n + (countingFindings.get(r) ?? 0), 0),
        finding_breakdown: counts
          .filter((k) => c.rules.includes(k.rule_id))
          .map((k) => ({
            rule_id: k.rule_id,
            severity: k.severity,
            status: k.status,
            findings: k.findings,
          })),
      }
    })
    return { id, title: fw.title, source: fw.source, summary: controlSummary(controls), controls }
  })
  // Sample events of the rules that make a control fail (each rule sampled once per report).
  const failingRules = new Set<string>()
  for (const f of frameworks)
    for (const c of f.controls)
      if (c.status === 'fail')
        for (const r of c.rules) if ((countingFindings.get(r) ?? 0) > 0) failingRules.add(r)
  const samples = await querySampleEvents(
    storage,
    scope,
    [...failingRules].sort(),
    options.samplesPerRule ?? SAMPLES_PER_RULE,
  )
  progress('done', total)
  const ruleSet = ruleSetVersion()

  const spellings = new Map<string, string[]>()
  for (const [key, raw] of row.drifted_spellings)
    spellings.set(key, [...(spellings.get(key) ?? []), raw])

  const period = {
    since: new Date(scope.since).toISOString(),
    until: new Date(scope.until).toISOString(),
  }
  return sealReport(
    {
      kind: 'audtrail.compliance_report' as const,
      schema_version: 2 as const,
      generated_at: new Date(options.now ?? Date.now()).toISOString(),
      tenant: options.tenant,
      period: {
        since: new Date(scope.since).toISOString(),
        until: new Date(scope.until).toISOString(),
      },
      status_rule: [...DECISION_RULE],
      frameworks,
      metrics,
      drifted_resources: [...spellings].map(([drift_key, s]) => ({ drift_key, spellings: s })),
      finding_counts: counts,
      findings,
      findings_truncated: counts.reduce((n, c) => n + c.findings, 0) > findings.length,
      scope: {
        tenant: options.tenant,
        period,
        sources: sources.reporting,
        silent_sources: sources.silent,
        sources_truncated: sources.truncated,
      },
      provenance: {
        generator: 'audtrail' as const,
        audtrail_version: AUDTRAIL_VERSION,
        rule_set: { version: `sha256:${ruleSet.digest}`, rules: ruleSet.rules },
        catalog: {
          version: `sha256:${catalogVersion(catalog)}`,
          frameworks: catalog.map((f) => ({
            id: f.id,
            version: f.source.version,
            url: f.source.url,
          })),
        },
      },
      sample_events: samples,
      closed_findings: closed.findings,
      closed_findings_truncated: closed.truncated,
    },
    options.signingKey,
  )
}

/** A framework's summary: its controls counted by status. */
export function controlSummary(controls: readonly { status: string }[]) {
  const tally = (s: string) => controls.filter((c) => c.status === s).length
  return {
    controls: controls.length,
    pass: tally('pass'),
    fail: tally('fail'),
    no_evidence: tally('no_evidence'),
  }
}
