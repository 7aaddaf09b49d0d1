/**
 * How a control's status is decided, in one place; the report carries the same words
 * (`DECISION_RULE`) so a reader of any rendering knows what `pass` means.
 *
 * 1. fail: a finding of a rule that counts against the control occurred in the period and its
 *    triage status is still `open` or `acknowledged` (`resolved` and `false_positive` do not
 *    count; a resolved finding that occurs again reads as open), or a metric of the control
 *    with a threshold breaches it.
 * 2. no_evidence: otherwise, when none of the control's metrics had the events it needs in the
 *    period (e.g. no accepted presentations for audience-validation coverage).
 * 3. pass: otherwise.
 */
import type { Control } from './control.js'
import { metricSentence } from './format.js'
import type { MetricId } from './metrics.js'
import type { ReportMetric } from './schema.js'

export const CONTROL_STATUSES = ['pass', 'fail', 'no_evidence'] as const
export type ControlStatus = (typeof CONTROL_STATUSES)[number]

export const METRIC_STATUSES = ['pass', 'fail', 'no_evidence', 'informational'] as const
export type MetricStatus = (typeof METRIC_STATUSES)[number]

/** Triage statuses that keep a finding counting against its controls. */
export const COUNTING_TRIAGE = ['open', 'acknowledged'] as const

export const DECISION_RULE: readonly string[] = [
  'fail: a finding of a rule mapped to the control occurred in the period and is still open or acknowledged (resolved and false_positive findings do not count; a resolved finding that occurred again counts as open), or a metric of the control breaches its threshold.',
  'no_evidence: otherwise, when none of the control metrics had the events it needs in the period.',
  'pass: otherwise.',
  'Findings are those with an occurrence in [since, until); triage status is as of the time the report was generated. Metrics count events by occurred_at in [since, until), each event once.',
]

export interface StatusInputs {
  metricStatus: Readonly<Record<MetricId, MetricStatus>>
  /** Counting findings (open or acknowledged) per rule id in the period. */
  countingFindings: ReadonlyMap<string, number>
  /** The evaluated metrics: with them, reasons say values and thresholds in words. */
  metrics?: ReadonlyMap<MetricId, ReportMetric>
}

export interface Decision {
  status: ControlStatus
  /** One line: why. */
  reason: string
}

export function decideStatus(control: Control, inputs: StatusInputs): Decision {
  const againstRules = control.rules.filter((r) => (inputs.countingFindings.get(r) ?? 0) > 0)
  const breached = control.metrics.filter((m) => inputs.metricStatus[m] === 'fail')
  const sentence = (id: MetricId) => {
    const m = inputs.metrics?.get(id)
    return m ? metricSentence(m) : `${id}.`
  }
  if (againstRules.length > 0 || breached.length > 0) {
    const parts: string[] = []
    if (againstRules.length > 0) {
      const n = againstRules.reduce((sum, r) => sum + inputs.countingFindings.get(r)!, 0)
      const per = againstRules.map((r) => `${r} (${inputs.countingFindings.get(r)})`).join(', ')
      parts.push(
        `${n} ${n === 1 ? 'finding is' : 'findings are'} still open or acknowledged: ${per}.`,
      )
    }
    if (breached.length > 0)
      parts.push(
        inputs.metrics
          ? breached.map(sentence).join(' ')
          : `Threshold breached: ${breached.join(', ')}.`,
      )
    return { status: 'fail', reason: parts.join(' ') }
  }
  const evidence = control.metrics.filter((m) => inputs.metricStatus[m] !== 'no_evidence')
  if (evidence.length === 0)
    return {
      status: 'no_evidence',
      reason: inputs.metrics
        ? `No evidence in the period. ${control.metrics.map(sentence).join(' ')}`
        : `No events in the period for ${control.metrics.join(', ')}.`,
    }
  return {
    status: 'pass',
    reason: inputs.metrics
      ? `No open or acknowledged findings. ${evidence.map(sentence).join(' ')}`
      : `No open or acknowledged findings; evidence from ${evidence.join(', ')}.`,
  }
}
