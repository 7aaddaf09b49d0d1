/** How the CSV and HTML renderings spell a metric's value and threshold. */
import type { ReportMetric } from './schema.js'

export function formatValue(unit: ReportMetric['unit'], value: number | null): string {
  if (value === null) return 'no evidence'
  if (unit === 'ratio') return `${(value * 100).toFixed(2)}%`
  if (unit === 'seconds') return `${Number.isInteger(value) ? value : value.toFixed(1)} s`
  return String(value)
}

export function formatThreshold(m: Pick<ReportMetric, 'unit' | 'threshold'>): string {
  if (m.threshold === null) return ''
  return `${m.threshold.op === 'min' ? '>=' : '<='} ${formatValue(m.unit, m.threshold.value)}`
}

/** `title: value (status)` for one metric. */
export function metricSummary(m: ReportMetric): string {
  const threshold = formatThreshold(m)
  return `${m.id}=${formatValue(m.unit, m.value)}${threshold ? ` [${threshold}]` : ''} (${m.status})`
}

/** `report-<framework>-<tenant>-<since>-<until>.<ext>`, safe as a file name and in a header. */
export function reportFileName(
  report: {
    tenant: string
    period: { since: string; until: string }
    frameworks: { id: string }[]
  },
  ext: string,
): string {
  const framework = report.frameworks.length === 1 ? report.frameworks[0]!.id : 'all'
  const day = (iso: string) => iso.slice(0, 10)
  const name = `compliance-${framework}-${report.tenant}-${day(report.period.since)}-${day(report.period.until)}`
  return `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.${ext}`
}
