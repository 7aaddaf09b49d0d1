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

/** `90.5 %`, `100 %`: a ratio as a percentage with at most two decimals, none trailing. */
export function formatPercent(ratio: number): string {
  return `${Number((ratio * 100).toFixed(2))} %`
}

/** A count with thin grouping (`1 234 567`), as the HTML prints figures. */
export function formatCount(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f')
}

function readableValue(unit: ReportMetric['unit'], value: number): string {
  if (unit === 'ratio') return formatPercent(value)
  if (unit === 'seconds') return `${formatCount(value)} s`
  return formatCount(value)
}

/**
 * One metric in a sentence an auditor reads without the glossary: "Audience-validation coverage
 * is 90.5 % of 200 accepted token presentations; the control requires at least 100 %."
 */
export function metricSentence(
  m: Pick<
    ReportMetric,
    'title' | 'unit' | 'value' | 'basis' | 'basis_description' | 'threshold' | 'status'
  >,
): string {
  if (m.value === null) return `${m.title}: no evidence, the period has no ${m.basis_description}.`
  const value = readableValue(m.unit, m.value)
  const body =
    m.unit === 'ratio'
      ? `${m.title} is ${value} of ${formatCount(m.basis)} ${m.basis_description}`
      : `${m.title}: ${value} (over ${formatCount(m.basis)} ${m.basis_description})`
  if (m.threshold === null) return `${body}.`
  const bound = `${m.threshold.op === 'min' ? 'at least' : 'at most'} ${readableValue(m.unit, m.threshold.value)}`
  return m.status === 'fail'
    ? `${body}; the control requires ${bound}.`
    : `${body}; required: ${bound}.`
}

/** Readable words for a control or metric status. */
export const STATUS_WORDS: Readonly<Record<string, string>> = {
  pass: 'Pass',
  fail: 'Fail',
  no_evidence: 'No evidence',
  informational: 'Informational',
  open: 'Open',
  acknowledged: 'Acknowledged',
  resolved: 'Resolved',
  false_positive: 'False positive',
}
