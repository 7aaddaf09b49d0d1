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
import type { MetricId } from './metrics.js'

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
}

export interface Decision {
  status: ControlStatus
  /** One line: why. */
  reason: string
}

export function decideStatus(control: Control, inputs: StatusInputs): Decision {
  const againstRules = control.rules.filter((r) => (inputs.countingFindings.get(r) ?? 0) > 0)
  const breached = control.metrics.filter((m) => inputs.metricStatus[m] === 'fail')
  if (againstRules.length > 0 || breached.length > 0) {
    const parts: string[] = []
    if (againstRules.length > 0) {
      const n = againstRules.reduce((sum, r) => sum + inputs.countingFindings.get(r)!, 0)
      parts.push(`${n} open or acknowledged finding(s) of ${againstRules.join(', ')}`)
    }
    if (breached.length > 0) parts.push(`threshold breached: ${breached.join(', ')}`)
    return { status: 'fail', reason: parts.join('; ') }
  }
  const evidence = control.metrics.filter((m) => inputs.metricStatus[m] !== 'no_evidence')
  if (evidence.length === 0)
    return {
      status: 'no_evidence',
      reason: `no events in the period for ${control.metrics.join(', ')}`,
    }
  return {
    status: 'pass',
    reason: `no counting findings; evidence from ${evidence.join(', ')}`,
  }
}
