/**
 * What the demo reads back from `audtrail serve`, through its query API like an analyst would:
 * the findings (`GET /v1/findings`, every page) and the compliance report
 * (`GET /v1/reports/compliance`), both in the default tenant of the open loopback API.
 */

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
  framework: string
  pass: number
  fail: number
  noEvidence: number
  failing: { id: string; title: string }[]
}

export const COMPLIANCE_FRAMEWORK = 'mcp-authorization'

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
  if (since !== undefined) {
    url.searchParams.set('since', since.toISOString())
    url.searchParams.set('until', new Date(Date.now() + 3_600_000).toISOString())
  }
  url.searchParams.set('format', format)
  return url.href
}

const STATUSES = ['pass', 'fail', 'no_evidence'] as const

/** The report's control statuses; undefined when the endpoint is absent or answers otherwise. */
export async function complianceSummary(
  baseUrl: string,
  since: Date,
): Promise<ComplianceSummary | undefined> {
  try {
    const res = await fetch(complianceUrl(baseUrl, 'json', since))
    if (!res.ok) return undefined
    const body = (await res.json()) as { controls?: unknown }
    if (!Array.isArray(body.controls)) return undefined
    const controls = body.controls.filter(
      (c): c is { id: string; title: string; status: (typeof STATUSES)[number] } =>
        typeof c?.id === 'string' && STATUSES.includes(c?.status),
    )
    const count = (s: string) => controls.filter((c) => c.status === s).length
    return {
      framework: COMPLIANCE_FRAMEWORK,
      pass: count('pass'),
      fail: count('fail'),
      noEvidence: count('no_evidence'),
      failing: controls
        .filter((c) => c.status === 'fail')
        .map((c) => ({ id: c.id, title: String(c.title ?? '') })),
    }
  } catch {
    return undefined
  }
}
