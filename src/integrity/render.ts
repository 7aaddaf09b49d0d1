/** The verification report as text lines (`audtrail verify` without --json; docs/integrity.md). */
import type { IntegrityIssue, IntegrityReport } from './verify.js'

function where(i: IntegrityIssue): string {
  const parts: string[] = []
  if (i.line !== undefined) parts.push(`line ${i.line}`)
  if (i.chain !== undefined) parts.push(`chain ${i.chain}`)
  if (i.position !== undefined)
    parts.push(
      i.to !== undefined && i.to !== i.position
        ? `positions ${i.position}..${i.to}`
        : `position ${i.position}`,
    )
  if (i.event_id !== undefined) parts.push(`event ${i.event_id}`)
  if (i.writer !== undefined) parts.push(`writer ${i.writer}`)
  if (i.checkpoint !== undefined) parts.push(`checkpoint ${i.checkpoint}`)
  return parts.join(' ')
}

export function renderReport(r: IntegrityReport): string[] {
  const lines = [
    `tenant ${r.tenant}: ${r.chains.length} chain(s), ${r.rows_read} row(s) read in ${r.elapsed_ms} ms; checkpoints: ${r.checkpoints.valid} valid, ${r.checkpoints.invalid} invalid`,
    ...r.chains.map(
      (c) =>
        `  chain ${c.chain}: ${c.last_position} position(s), ${c.attested} signed, ${c.unattested} not yet signed`,
    ),
    ...r.warnings.map((w) => `  warning: ${w}`),
    ...r.issues.map((i) => `  ${i.kind.toUpperCase()} ${where(i)}: ${i.detail}`),
  ]
  if (r.issues_total > r.issues.length)
    lines.push(`  ... and ${r.issues_total - r.issues.length} more issue(s)`)
  lines.push(r.ok ? 'verified: no issue' : `FAILED: ${r.issues_total} issue(s)`)
  return lines
}
