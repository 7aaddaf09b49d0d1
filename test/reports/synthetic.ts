/**
 * A report at scale without a database: every framework of the real catalog, `findings`
 * findings spread over the rules (most severe first, as the report query orders them), with
 * their counts, sample events, closed findings and sources, decided as the report decides
 * (decideStatus) and sealed with its digest. For the size bound and the browser test.
 */
import { SEVERITIES } from '../../src/detection/rule.js'
import { RULES } from '../../src/detection/rules/index.js'
import { FRAMEWORK_IDS } from '../../src/reports/control.js'
import { FRAMEWORKS } from '../../src/reports/frameworks.js'
import { controlSummary } from '../../src/reports/build.js'
import { reportDigest } from '../../src/reports/integrity.js'
import { METRIC_IDS, METRICS, type MetricId } from '../../src/reports/metrics.js'
import { ComplianceReport } from '../../src/reports/schema.js'
import { decideStatus, DECISION_RULE, type MetricStatus } from '../../src/reports/status.js'

const STATUSES = ['open', 'acknowledged', 'resolved', 'false_positive'] as const
const hex = (n: number, len = 32) => n.toString(16).padStart(len, '0').slice(-len)
const at = (ms: number) => new Date(ms).toISOString()
const SINCE = Date.parse('2026-10-01T00:00:00.000Z')
const UNTIL = Date.parse('2026-10-31T00:00:00.000Z')

export function syntheticReport(
  options: { findings?: number; sources?: number; text?: string } = {},
): ComplianceReport {
  const n = options.findings ?? 10_000
  const sourcesN = options.sources ?? 40
  const rules = RULES.map((r) => r.id)
  const severityOf = new Map(RULES.map((r) => [r.id, r.severity]))
  const rank = (s: string) => SEVERITIES.indexOf(s as (typeof SEVERITIES)[number])
  const findings = Array.from({ length: n }, (_, i) => {
    const rule_id = rules[i % rules.length]!
    const last = UNTIL - 1000 - i * 60_000
    return {
      id: hex(0xfeed0000 + i),
      rule_id,
      title: RULES.find((r) => r.id === rule_id)!.title,
      severity: severityOf.get(rule_id)!,
      status: STATUSES[i % 4]!,
      keys: { client_id: `agent-${i % 97}`, resource: `https://mcp-${i % 20}.example.com/mcp` },
      first_seen: at(last - 3_600_000),
      last_seen: at(last),
      count: 1 + (i % 7),
      period_occurrences: 1 + (i % 7),
      period_first_seen: at(last - 3_600_000),
      period_last_seen: at(last),
    }
  }).sort((a, b) => rank(b.severity) - rank(a.severity))
  const countKey = (f: (typeof findings)[number]) => `${f.rule_id}|${f.severity}|${f.status}`
  const countMap = new Map<string, { findings: number; occurrences: number }>()
  for (const f of findings) {
    const c = countMap.get(countKey(f)) ?? { findings: 0, occurrences: 0 }
    c.findings++
    c.occurrences += f.period_occurrences
    countMap.set(countKey(f), c)
  }
  const finding_counts = [...countMap]
    .map(([k, c]) => {
      const [rule_id, severity, status] = k.split('|') as [string, string, string]
      return { rule_id, severity, status, ...c }
    })
    .sort((a, b) =>
      (a.rule_id + a.severity + a.status).localeCompare(b.rule_id + b.severity + b.status),
    )
  const counting = new Map<string, number>()
  for (const c of finding_counts)
    if (c.status === 'open' || c.status === 'acknowledged')
      counting.set(c.rule_id, (counting.get(c.rule_id) ?? 0) + c.findings)

  const metrics = METRIC_IDS.map((id, i) => ({
    id,
    title: METRICS[id].title,
    unit: METRICS[id].unit,
    description: METRICS[id].description,
    value: METRICS[id].unit === 'ratio' ? 0.905 : i * 3,
    basis: 1_000_000 + i,
    basis_description: METRICS[id].basis,
    threshold: id === 'aud_validation_coverage' ? { op: 'min' as const, value: 1 } : null,
    status: (id === 'aud_validation_coverage' ? 'fail' : 'informational') as MetricStatus,
  }))
  const metricMap = new Map(metrics.map((m) => [m.id, m]))
  const metricStatus = Object.fromEntries(metrics.map((m) => [m.id, m.status])) as Record<
    MetricId,
    MetricStatus
  >
  const frameworks = FRAMEWORK_IDS.map((id) => {
    const fw = FRAMEWORKS[id]
    const controls = fw.controls.map((c) => {
      const d = decideStatus(c, { metricStatus, countingFindings: counting, metrics: metricMap })
      return {
        id: c.id,
        title: options.text ?? c.title,
        ...(c.citation ? { citation: c.citation } : {}),
        ...(c.note ? { note: c.note } : {}),
        status: d.status,
        reason: d.reason,
        metrics: [...c.metrics],
        rules: [...c.rules],
        findings: findings
          .slice(0, 1000)
          .filter(
            (f) =>
              c.rules.includes(f.rule_id) && (f.status === 'open' || f.status === 'acknowledged'),
          )
          .map((f) => f.id),
        finding_count: c.rules.reduce((s, r) => s + (counting.get(r) ?? 0), 0),
        finding_breakdown: finding_counts
          .filter((k) => c.rules.includes(k.rule_id))
          .map(({ occurrences: _, ...k }) => k),
      }
    })
    return { id, title: fw.title, source: fw.source, summary: controlSummary(controls), controls }
  })
  const sources = Array.from({ length: sourcesN }, (_, i) => ({
    kind: i === 0 ? 'authorization_server' : 'mcp_server',
    id: `source-${i}`,
    events: 250_000 - i,
    period_first_seen: at(SINCE + i),
    last_seen: at(UNTIL - i),
  }))
  const sample_events = rules.flatMap((rule_id, r) =>
    Array.from({ length: 5 }, (_, i) => ({
      rule_id,
      finding_id: hex(r * 5 + i),
      event_id: `00000000-0000-4000-8000-${hex(r * 5 + i, 12)}`,
      event_type: 'token.presented',
      occurred_at: at(UNTIL - 10_000 * (i + 1)),
      source: { kind: 'mcp_server', id: `source-${i}` },
      client_id: `agent-${i}`,
      token_key: `jti:at-${r}-${i}`,
      resource: 'https://mcp-b.example.com/mcp',
      presented_aud: ['https://mcp-a.example.com/mcp'],
      requested_resources: [],
      granted_aud: [],
      aud_match: 'different',
      aud_validated: i % 2 === 0,
      decision: 'accepted',
      reason: 'ok',
      tool_method: 'tools/call',
      tool_name: 'read_file',
      http_status: 200,
    })),
  )
  const closed = findings.filter((f) => f.status === 'resolved' || f.status === 'false_positive')
  const unsealed = {
    kind: 'audtrail.compliance_report' as const,
    schema_version: 2 as const,
    generated_at: at(UNTIL + 60_000),
    tenant: 'acme',
    period: { since: at(SINCE), until: at(UNTIL) },
    status_rule: [...DECISION_RULE],
    frameworks,
    metrics,
    drifted_resources: [
      { drift_key: 'https://mcp-a.example.com/mcp', spellings: ['https://mcp-a.example.com/mcp/'] },
    ],
    finding_counts,
    findings: findings.slice(0, 1000),
    findings_truncated: n > 1000,
    scope: {
      tenant: 'acme',
      period: { since: at(SINCE), until: at(UNTIL) },
      sources: sources.slice(1),
      silent_sources: sources
        .slice(0, 1)
        .map((s) => ({ ...s, events: 0, period_first_seen: undefined })),
      sources_truncated: false,
    },
    provenance: {
      generator: 'audtrail' as const,
      audtrail_version: '0.1.0',
      rule_set: { version: `sha256:${'a'.repeat(64)}`, rules: rules.length },
      catalog: {
        version: `sha256:${'b'.repeat(64)}`,
        frameworks: FRAMEWORK_IDS.map((id) => ({
          id,
          version: FRAMEWORKS[id].source.version,
          url: FRAMEWORKS[id].source.url,
        })),
      },
    },
    sample_events,
    closed_findings: closed.slice(0, 1000).map((f, i) => ({
      id: f.id,
      rule_id: f.rule_id,
      severity: f.severity,
      title: f.title,
      status: f.status as 'resolved' | 'false_positive',
      closed_by: `analyst-${i % 3}`,
      closed_at: at(UNTIL - i * 1000),
      note: `Checked with the owning team (ticket SEC-${i}); ${'context '.repeat(i % 5)}`,
    })),
    closed_findings_truncated: closed.length > 1000,
  }
  const json = JSON.parse(JSON.stringify(unsealed)) as Record<string, unknown>
  return ComplianceReport.parse({
    ...json,
    integrity: {
      canonicalization: 'RFC 8785 (JCS)',
      digest_algorithm: 'SHA-256',
      covers: 'the report without its integrity member, in its RFC 8785 canonical form',
      digest: reportDigest(json),
    },
  })
}
