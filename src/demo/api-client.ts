/**
 * What the demo reads back from `audtrail serve`, through its query API like an analyst would:
 * the findings (`GET /v1/findings`, every page) and the compliance report
 * (`GET /v1/reports/compliance`), in the default tenant, with the machine client's bearer token
 * (minted by the demo's authorization server with client credentials, `machineToken`).
 */
import { ComplianceReport } from '../reports/schema.js'
import type { MachineClient } from './authorization-server.js'

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

/** The headers of an API call: the bearer token when there is one. */
function auth(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` }
}

/**
 * An access token of `client` for the audtrail API: client credentials (RFC 6749 section 4.4) at
 * the issuer's token endpoint (from its discovery document), `resource` its audience (RFC 8707).
 */
export async function machineToken(
  issuer: string,
  client: Pick<MachineClient, 'clientId' | 'secret' | 'audience'>,
): Promise<string> {
  const discovery = await fetch(new URL('/.well-known/openid-configuration', issuer))
  const { token_endpoint } = (await discovery.json()) as { token_endpoint: string }
  const res = await fetch(token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.secret,
      resource: client.audience,
    }),
  })
  const body = (await res.json()) as { access_token?: string; error?: string }
  if (!res.ok || body.access_token === undefined)
    throw new Error(
      `client credentials at ${token_endpoint}: HTTP ${res.status} ${body.error ?? ''}`,
    )
  return body.access_token
}

/** Findings last seen at or after `since`, all pages. */
export async function listFindings(
  baseUrl: string,
  since: Date,
  token?: string,
): Promise<Finding[]> {
  const items: Finding[] = []
  let cursor: string | null = null
  do {
    const url = new URL('/v1/findings', baseUrl)
    url.searchParams.set('since', since.toISOString())
    url.searchParams.set('limit', '500')
    if (cursor !== null) url.searchParams.set('cursor', cursor)
    const res = await fetch(url, { headers: auth(token) })
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
  token?: string,
): Promise<Finding[]> {
  for (;;) {
    const findings = await listFindings(baseUrl, since, token)
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
  token?: string,
): Promise<ComplianceSummary | undefined> {
  let report: ComplianceReport
  try {
    const res = await fetch(complianceUrl(baseUrl, 'json', since), { headers: auth(token) })
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
