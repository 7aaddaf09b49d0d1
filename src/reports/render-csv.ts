/**
 * The CSV rendering: one row per control (RFC 4180: CRLF line ends, fields with a comma, quote,
 * CR or LF quoted, quotes doubled). Every cell that a spreadsheet would read as a formula (one
 * starting with = + - @, a tab or CR) is prefixed with a single quote first. The citation of a
 * control is its clause (revision and URL) when it has one, else its framework's public source.
 * `report_sha256` on every row names the JSON report's digest (integrity.ts), so a CSV can be
 * matched to the JSON report it was rendered from.
 */
import { citeSource } from './control.js'
import { metricSummary } from './format.js'
import type { ComplianceReport } from './schema.js'

export const CSV_COLUMNS = [
  'tenant',
  'period_since',
  'period_until',
  'framework',
  'control_id',
  'control_title',
  'status',
  'reason',
  'metrics',
  'rules',
  'finding_count',
  'findings',
  'citation',
  'report_sha256',
] as const

/** Neutralise a spreadsheet formula, then quote as RFC 4180 requires. */
export function csvCell(value: string | number): string {
  let text = String(value)
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

export function renderCsv(report: ComplianceReport): string {
  const metrics = new Map(report.metrics.map((m) => [m.id, m]))
  const rows: (string | number)[][] = [[...CSV_COLUMNS]]
  for (const fw of report.frameworks)
    for (const c of fw.controls)
      rows.push([
        report.tenant,
        report.period.since,
        report.period.until,
        fw.id,
        c.id,
        c.title,
        c.status,
        c.reason,
        c.metrics.map((id) => metricSummary(metrics.get(id)!)).join('; '),
        c.rules.join(' '),
        c.finding_count,
        c.findings.join(' '),
        c.citation ? `${c.citation.revision} ${c.citation.url}` : citeSource(fw.source),
        report.integrity.digest,
      ])
  return rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n'
}
