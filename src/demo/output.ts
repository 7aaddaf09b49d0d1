/** What the demo prints at the end: findings table, expected findings, compliance, URLs. */
import type { ComplianceSummary, Finding } from './api-client.js'
import type { Attack } from './scenario.js'

type Print = (line: string) => void

const SEVERITY_ORDER = ['critical', 'high', 'medium', 'low']

function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`
}

function keysOf(f: Finding): string {
  return Object.entries(f.keys)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')
}

export function printFindings(print: Print, findings: readonly Finding[]): void {
  const rows = [...findings].sort(
    (a, b) =>
      SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity) ||
      a.rule_id.localeCompare(b.rule_id),
  )
  const ruleWidth = Math.max(4, ...rows.map((f) => f.rule_id.length))
  print(`findings (${rows.length}):`)
  print(`  ${'rule'.padEnd(ruleWidth)}  ${'severity'.padEnd(8)}  ${'count'.padStart(5)}  keys`)
  for (const f of rows)
    print(
      `  ${f.rule_id.padEnd(ruleWidth)}  ${f.severity.padEnd(8)}  ${String(f.count).padStart(5)}  ${clip(keysOf(f), 110)}`,
    )
}

/** One line per attack, each expected rule marked ✓ (found) or ✗; returns how many were missed. */
export function printExpected(
  print: Print,
  attacks: readonly Attack[],
  findings: readonly Finding[],
): number {
  const seen = new Set(findings.map((f) => f.rule_id))
  const expected = [...new Set(attacks.flatMap((a) => a.expect))]
  const missing = expected.filter((r) => !seen.has(r))
  print(`expected findings (${expected.length - missing.length}/${expected.length}):`)
  const width = Math.max(...attacks.map((a) => a.id.length))
  for (const a of attacks)
    print(
      `  ${a.id.padEnd(width)}  ${a.expect.map((r) => `${seen.has(r) ? '✓' : '✗'} ${r}`).join('  ')}`,
    )
  return missing.length
}

function metricValue(m: ComplianceSummary['metrics'][number]): string {
  if (m.value === null) return 'no evidence'
  if (m.unit === 'ratio') return `${(m.value * 100).toFixed(1)} %`
  if (m.unit === 'seconds') return `${Math.round(m.value)} s`
  return String(m.value)
}

export function printCompliance(print: Print, summary: ComplianceSummary | undefined): void {
  if (summary === undefined) {
    print('compliance report: not available')
    return
  }
  print(
    'compliance summary (GET /v1/reports/compliance since the demo started; the backdated history is older):',
  )
  const width = Math.max(...summary.frameworks.map((f) => f.id.length))
  for (const f of summary.frameworks)
    print(
      `  ${f.id.padEnd(width)}  ${String(f.pass).padStart(2)} pass  ${String(f.fail).padStart(2)} fail  ${String(f.noEvidence).padStart(2)} without evidence  ${clip(f.title, 60)}`,
    )
  if (summary.failing.length > 0) print('  failing MCP authorization controls:')
  for (const c of summary.failing) print(`    ${c.id}  ${clip(c.title, 90)}`)
  const shown = summary.metrics.filter((m) => m.status !== 'informational' || m.value !== null)
  if (shown.length > 0) print('  evidence:')
  const titleWidth = Math.max(...shown.map((m) => m.title.length))
  for (const m of shown)
    print(`    ${m.title.padEnd(titleWidth)}  ${metricValue(m).padStart(11)}  ${m.status}`)
}

export function printUrls(print: Print, urls: Record<string, string>): void {
  const width = Math.max(...Object.keys(urls).map((k) => k.length))
  for (const [what, url] of Object.entries(urls)) print(`  ${what.padEnd(width)}  ${url}`)
}
