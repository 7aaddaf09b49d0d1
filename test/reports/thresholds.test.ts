import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/errors.js'
import { loadConfig } from '../../src/config.js'
import { reportThresholds } from '../../src/cli/runtime.js'
import { METRIC_IDS } from '../../src/reports/metrics.js'
import { parseReportThresholds, ReportThresholdsError } from '../../src/reports/thresholds.js'

describe('AUDTRAIL_REPORT_THRESHOLDS', () => {
  it('reads min, max and off for any metric, and nothing from an unset or blank value', () => {
    expect(parseReportThresholds(undefined)).toEqual({})
    expect(parseReportThresholds('  ')).toEqual({})
    expect(
      parseReportThresholds(
        'sender_constrained_token_share=min:0.95, accepted_mismatches=max:3,token_lifetime_p95_s=off',
      ),
    ).toEqual({
      sender_constrained_token_share: { op: 'min', value: 0.95 },
      accepted_mismatches: { op: 'max', value: 3 },
      token_lifetime_p95_s: null,
    })
    for (const id of METRIC_IDS) expect(parseReportThresholds(`${id}=off`)).toEqual({ [id]: null })
  })

  it('refuses an unknown metric with the allowed names, a repeat, a share above 1 and bad syntax', () => {
    expect(() => parseReportThresholds('sender_share=min:0.9')).toThrow(
      /unknown metric "sender_share"; the metrics are .*proof_of_possession_coverage/,
    )
    expect(() =>
      parseReportThresholds('accepted_mismatches=max:0,accepted_mismatches=max:1'),
    ).toThrow(/given twice/)
    expect(() => parseReportThresholds('aud_validation_coverage=min:95')).toThrow(
      /share between 0 and 1/,
    )
    // A count may exceed 1; a share of exactly 1 is fine.
    expect(parseReportThresholds('accepted_mismatches=max:95')).toEqual({
      accepted_mismatches: { op: 'max', value: 95 },
    })
    expect(parseReportThresholds('aud_validation_coverage=min:1')).toEqual({
      aud_validation_coverage: { op: 'min', value: 1 },
    })
    for (const bad of [
      'accepted_mismatches',
      'accepted_mismatches=eq:1',
      'accepted_mismatches=max:-1',
      'accepted_mismatches=max:',
    ])
      expect(() => parseReportThresholds(bad), bad).toThrow(ReportThresholdsError)
  })

  it('stops start-up with a configuration error when the value is bad', () => {
    const config = (v: string) => loadConfig({ AUDTRAIL_REPORT_THRESHOLDS: v })
    expect(reportThresholds(config('proof_of_possession_coverage=min:0.5'))).toEqual({
      proof_of_possession_coverage: { op: 'min', value: 0.5 },
    })
    expect(() => reportThresholds(config('nope=min:1'))).toThrow(ConfigError)
  })
})
