/**
 * What the demo reads back from `audtrail serve`, through its query API like an analyst would:
 * the findings (`GET /v1/findings`, every page) and the compliance report
 * (`GET /v1/reports/compliance`), both in the default tenant of the open loopback API.
 */
import { ComplianceReport } from '../reports/schema.js'

export interface Finding {
  id: string
  rule_id: string
  severity: string
  title: string
  count: number
  first_seen: string
  last_seen: string
  keys: Record<string, string>
}

export interface ComplianceSummary {
  frameworks: { id: string; title: string; pass: number; fail: number; noEvidence: number }[]
  /** failing controls of the MCP authorization framework */
  failing: { id: string; title: string }[]
  metrics: { title: string; unit: string; value: number | null; status: string }[]
}

export const COMPLIANCE_FRAMEWORK = 'all'

/** Findings last seen at or after `since`, all pages. */
export async function listFindings(baseUrl: string, since: Date): Promise<Finding[]> {
  const items: Finding[] = []
  let cursor: string | null = null
  do {
    const url = new URL('/v1/findings', baseUrl)
    url.searchParams.set('since', since.toISOString())
    url.searchParams.set('limit', '500')
    if (cursor !== null) url.searchParams.set('cursor', cursor)
    const res = await fetch(url)
    if (!res.ok) throw new Error(`GET /v1/findings answered HTTP ${res.status}`)
    const page = (await res.json()) as { items: Finding[]; next_cursor: string | null }
    items.push(...page.items)
    cursor = page.next_cursor
  } while (cursor !== null)
  return items
}

/** Polls until every expected rule has a finding or `deadline` (ms since the epoch) passes. */
export async function waitForFindings(
  baseUrl: string,
  since: Date,
  expected: readonly string[],
  deadline: number,
  wait: (ms: number) => Promise<void>,
): Promise<Finding[]> {
  for (;;) {
    const findings = await listFindings(baseUrl, since)
    const seen = new Set(findings.map((f) => f.rule_id))
    if (expected.every((r) => seen.has(r)) || Date.now() >= deadline) return findings
    await wait(1000)
  }
}

export function complianceUrl(baseUrl: string, format: 'json' | 'html', since?: Date): string {
  const url = new URL('/v1/reports/compliance', baseUrl)
  url.searchParams.set('framework', COMPLIANCE_FRAMEWORK)
  // Without `until` the period ends when the report is asked for.
  if (since !== undefined) url.searchParams.set('since', since.toISOString())
  url.searchParams.set('format', format)
  return url.href
}

/** The report's statuses and metrics; undefined when the endpoint is absent or fails. */
export async function complianceSummary(
  baseUrl: string,
  since: Date,
): Promise<ComplianceSummary | undefined> {
  let report: ComplianceReport
  try {
    const res = await fetch(complianceUrl(baseUrl, 'json', since))
    if (!res.ok) return undefined
    const parsed = ComplianceReport.safeParse(await res.json())
    if (!parsed.success) return undefined
    report = parsed.data
  } catch {
    return undefined
  }
  return {
    frameworks: report.frameworks.map((f) => ({
      id: f.id,
      title: f.title,
      pass: f.summary.pass,
      fail: f.summary.fail,
      noEvidence: f.summary.no_evidence,
    })),
    failing: report.frameworks
      .filter((f) => f.id === 'mcp-authorization')
      .flatMap((f) => f.controls.filter((c) => c.status === 'fail'))
      .map((c) => ({ id: c.id, title: c.title })),
    metrics: report.metrics.map((m) => ({
      title: m.title,
      unit: m.unit,
      value: m.value,
      status: m.status,
    })),
  }
}
