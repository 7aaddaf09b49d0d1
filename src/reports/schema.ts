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
  /** The control's findings in the period (counting or not) per rule, severity and triage status. */
  finding_breakdown: z.array(
    z.object({
      rule_id: z.string(),
      severity: z.enum(SEVERITIES),
      status: z.enum(TRIAGE_STATUSES),
      findings: z.number().int(),
    }),
  ),
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

export const ReportSourceActivity = z.object({
  kind: z.string().describe('authorization_server, resource_server, mcp_server, ...'),
  id: z.string(),
  /** Stored events in the period (0: silent in it). */
  events: z.number().int(),
  period_first_seen: Timestamp.optional(),
  /** The source's last event before the period's end. */
  last_seen: Timestamp,
})

export const ReportScope = z.object({
  tenant: z.string(),
  period: z.object({ since: Timestamp, until: Timestamp }),
  /** Sources with events in the period, the busiest first. */
  sources: z.array(ReportSourceActivity),
  /** Sources seen in the 30 days before the period and not in it. */
  silent_sources: z.array(ReportSourceActivity),
  /** true when more sources exist than listed (MAX_SOURCES). */
  sources_truncated: z.boolean(),
})

export const ReportProvenance = z.object({
  generator: z.literal('audtrail'),
  audtrail_version: z.string(),
  rule_set: z.object({
    version: z.string().describe('sha256:<hex> of the canonical rule definitions'),
    rules: z.number().int(),
  }),
  catalog: z.object({
    version: z.string().describe("sha256:<hex> of the report frameworks' canonical definitions"),
    frameworks: z.array(z.object({ id: z.string(), version: z.string(), url: z.string() })),
  }),
})

export const ReportSampleEvent = z.object({
  rule_id: z.string(),
  finding_id: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  occurred_at: Timestamp,
  source: z.object({ kind: z.string(), id: z.string() }),
  client_id: z.string(),
  /** audtrail's derived token key (jti or fingerprint), never a token. */
  token_key: z.string(),
  resource: z.string(),
  presented_aud: z.array(z.string()),
  requested_resources: z.array(z.string()),
  granted_aud: z.array(z.string()),
  aud_match: z.string(),
  aud_validated: z.boolean().nullable(),
  decision: z.string(),
  reason: z.string(),
  tool_method: z.string(),
  tool_name: z.string(),
  http_status: z.number().int().nullable(),
})

export const ReportClosedFinding = z.object({
  id: z.string(),
  rule_id: z.string(),
  severity: z.enum(SEVERITIES),
  title: z.string(),
  status: z.enum(['resolved', 'false_positive']),
  closed_by: z.string(),
  closed_at: Timestamp,
  note: z.string(),
})

export const ReportIntegrity = z.object({
  canonicalization: z.string(),
  digest_algorithm: z.string(),
  covers: z.string(),
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  signature: z
    .object({ format: z.string(), alg: z.literal('EdDSA'), key_id: z.string(), jws: z.string() })
    .optional(),
})

export const ComplianceReport = z.object({
  kind: z.literal('audtrail.compliance_report'),
  schema_version: z.literal(2),
  generated_at: Timestamp,
  tenant: z.string(),
  period: z.object({ since: Timestamp, until: Timestamp }),
  /** How a control's status is decided, in words. */
  status_rule: z.array(z.string()),
  frameworks: z.array(ReportFramework),
  metrics: z.array(ReportMetric),
  drifted_resources: z.array(z.object({ drift_key: z.string(), spellings: z.array(z.string()) })),
  finding_counts: z.array(FindingCount),
  /**
   * The most severe findings of the period (MAX_LISTED_FINDINGS), then each rule's most severe
   * open or acknowledged findings (TOP_FINDINGS_PER_RULE) that the first part did not hold.
   */
  findings: z.array(ReportFinding),
  /** true when more findings occurred than `findings` lists (counts stay exact). */
  findings_truncated: z.boolean(),
  scope: ReportScope,
  provenance: ReportProvenance,
  /** Up to SAMPLES_PER_RULE events of each failing control's rules (per rule). */
  sample_events: z.array(ReportSampleEvent),
  /** Findings of the period closed by an analyst: who, when, the note. */
  closed_findings: z.array(ReportClosedFinding),
  closed_findings_truncated: z.boolean(),
  /** SHA-256 of the canonical report (RFC 8785) and, with a signing key, its JWS. */
  integrity: ReportIntegrity,
})

export type ComplianceReport = z.output<typeof ComplianceReport>
export type ReportMetric = z.output<typeof ReportMetric>
export type ReportControl = z.output<typeof ReportControl>
export type ReportFramework = z.output<typeof ReportFramework>
export type ReportFinding = z.output<typeof ReportFinding>
export type ReportSampleEvent = z.output<typeof ReportSampleEvent>
export type ReportClosedFinding = z.output<typeof ReportClosedFinding>
export type ReportSourceActivity = z.output<typeof ReportSourceActivity>
