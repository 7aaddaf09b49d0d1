/**
 * The canonical compliance report (the JSON rendering, the API response and its OpenAPI schema):
 * one zod schema; CSV and HTML are views of it.
 */
import { z } from 'zod'
import { TRIAGE_STATUSES } from '../detection/findings-store.js'
import { SEVERITIES } from '../detection/rule.js'
import { FRAMEWORK_IDS } from './control.js'
import { METRIC_IDS } from './metrics.js'
import { CONTROL_STATUSES, METRIC_STATUSES } from './status.js'

const Timestamp = z.iso.datetime()

export const ReportMetric = z.object({
  id: z.enum(METRIC_IDS),
  title: z.string(),
  unit: z.enum(['ratio', 'count', 'seconds']),
  description: z.string(),
  /** null: no evidence (the period has none of the events the metric needs) */
  value: z.number().nullable(),
  numerator: z.number().optional(),
  /** How many of the events or tokens the metric needs the period had. */
  basis: z.number(),
  basis_description: z.string(),
  threshold: z.object({ op: z.enum(['min', 'max']), value: z.number() }).nullable(),
  status: z.enum(METRIC_STATUSES),
})

export const ReportControl = z.object({
  id: z.string(),
  title: z.string(),
  citation: z
    .object({ revision: z.string(), url: z.string(), quote: z.string().optional() })
    .optional(),
  note: z.string().optional(),
  status: z.enum(CONTROL_STATUSES),
  reason: z.string(),
  metrics: z.array(z.enum(METRIC_IDS)),
  rules: z.array(z.string()),
  /** Ids of the listed findings (see `findings`) that count against the control. */
  findings: z.array(z.string()),
  /** All counting findings of the control's rules in the period, listed or not. */
  finding_count: z.number().int(),
})

/** The public document a framework's ids and titles come from. */
export const ReportSource = z
  .object({
    title: z.string(),
    publisher: z.string(),
    version: z.string().describe('the edition, revision or publication date cited'),
    url: z.string(),
  })
  .describe("the public document the framework's control ids and titles are cited from")

export const ReportFramework = z.object({
  id: z.enum(FRAMEWORK_IDS),
  title: z.string(),
  source: ReportSource,
  summary: z.object({
    controls: z.number().int(),
    pass: z.number().int(),
    fail: z.number().int(),
    no_evidence: z.number().int(),
  }),
  controls: z.array(ReportControl),
})

export const ReportFinding = z.object({
  id: z.string(),
  rule_id: z.string(),
  title: z.string(),
  severity: z.enum(SEVERITIES),
  status: z.enum(TRIAGE_STATUSES),
  keys: z.record(z.string(), z.string()),
  first_seen: Timestamp,
  last_seen: Timestamp,
  count: z.number().int(),
  period_occurrences: z.number().int(),
  period_first_seen: Timestamp,
  period_last_seen: Timestamp,
})

export const FindingCount = z.object({
  rule_id: z.string(),
  severity: z.enum(SEVERITIES),
  status: z.enum(TRIAGE_STATUSES),
  findings: z.number().int(),
  occurrences: z.number().int(),
})

export const ComplianceReport = z.object({
  kind: z.literal('audtrail.compliance_report'),
  schema_version: z.literal(1),
  generated_at: Timestamp,
  tenant: z.string(),
  period: z.object({ since: Timestamp, until: Timestamp }),
  /** How a control's status is decided, in words. */
  status_rule: z.array(z.string()),
  frameworks: z.array(ReportFramework),
  metrics: z.array(ReportMetric),
  drifted_resources: z.array(z.object({ drift_key: z.string(), spellings: z.array(z.string()) })),
  finding_counts: z.array(FindingCount),
  findings: z.array(ReportFinding),
  /** true when more findings occurred than `findings` lists (counts stay exact). */
  findings_truncated: z.boolean(),
})

export type ComplianceReport = z.output<typeof ComplianceReport>
export type ReportMetric = z.output<typeof ReportMetric>
export type ReportControl = z.output<typeof ReportControl>
export type ReportFramework = z.output<typeof ReportFramework>
export type ReportFinding = z.output<typeof ReportFinding>
