/**
 * AUDTRAIL_REPORT_THRESHOLDS: an operator's thresholds over DEFAULT_THRESHOLDS, for the API's
 * and the CLI's compliance reports. A comma-separated list of `metric=min:VALUE`,
 * `metric=max:VALUE` or `metric=off` (informational), for example
 * `sender_constrained_token_share=min:0.95,proof_of_possession_coverage=min:0.9`. Unknown
 * metrics, a repeated metric, a ratio outside [0, 1] or a negative count are refused with the
 * allowed names, so a typo never silently leaves a control on its default.
 */
import { METRIC_IDS, METRICS, type MetricId, type Threshold } from './metrics.js'

export type ReportThresholds = Partial<Record<MetricId, Threshold | null>>

export class ReportThresholdsError extends Error {
  override name = 'ReportThresholdsError'
}

const ENTRY = /^([a-z0-9_]+)=(?:(min|max):(\d+(?:\.\d+)?)|(off))$/

export function parseReportThresholds(text: string | undefined): ReportThresholds {
  const out: ReportThresholds = {}
  if (text === undefined || text.trim() === '') return out
  for (const raw of text.split(',')) {
    const item = raw.trim()
    const m = ENTRY.exec(item)
    if (!m)
      throw new ReportThresholdsError(
        `AUDTRAIL_REPORT_THRESHOLDS: "${item.slice(0, 80)}" is not metric=min:N, metric=max:N or metric=off`,
      )
    const id = m[1] as MetricId
    if (!(METRIC_IDS as readonly string[]).includes(id))
      throw new ReportThresholdsError(
        `AUDTRAIL_REPORT_THRESHOLDS: unknown metric "${id.slice(0, 80)}"; the metrics are ${METRIC_IDS.join(', ')}`,
      )
    if (id in out)
      throw new ReportThresholdsError(`AUDTRAIL_REPORT_THRESHOLDS: ${id} is given twice`)
    if (m[4] === 'off') {
      out[id] = null
      continue
    }
    const value = Number(m[3])
    if (METRICS[id].unit === 'ratio' && value > 1)
      throw new ReportThresholdsError(
        `AUDTRAIL_REPORT_THRESHOLDS: ${id} is a share between 0 and 1 (got ${m[3]})`,
      )
    out[id] = { op: m[2] as Threshold['op'], value }
  }
  return out
}
