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

export function printCompliance(print: Print, summary: ComplianceSummary | undefined): void {
  if (summary === undefined) {
    print('compliance report: not available')
    return
  }
  print(
    `compliance (${summary.framework}): ${summary.pass} pass, ${summary.fail} fail, ${summary.noEvidence} without evidence`,
  )
  for (const c of summary.failing) print(`  fail  ${c.id}  ${clip(c.title, 90)}`)
}

export function printUrls(print: Print, urls: Record<string, string>): void {
  const width = Math.max(...Object.keys(urls).map((k) => k.length))
  for (const [what, url] of Object.entries(urls)) print(`  ${what.padEnd(width)}  ${url}`)
}
