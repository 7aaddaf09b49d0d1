import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setTriage } from '../../src/detection/findings-store.js'
import { buildComplianceReport, DECISION_RULE } from '../../src/reports/index.js'
import type { ComplianceReport } from '../../src/reports/schema.js'
import { migrate } from '../../src/storage/migrate.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'
import { API, issued, MCP, presented, seed } from './fixtures.js'

const storage = testStorage('reports_status')
const PERIOD = { since: '2026-10-01T00:00:00Z', until: '2026-11-01T00:00:00Z' }
const AT = '2026-10-10T12:00:00.000Z'
const IAT = Math.floor(Date.parse(AT) / 1000) - 60

const report = () =>
  buildComplianceReport(storage, { tenant: 'acme', framework: 'owasp-nhi-2025', ...PERIOD })
const control = (r: ComplianceReport, id: string) =>
  r.frameworks[0]!.controls.find((c) => c.id === id)!

beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
  // A well-behaved token: requested with a resource, short-lived, validated where it is used.
  const token = { jti: 'good-1', iat: IAT, exp: IAT + 600, aud: [MCP] }
  await seed(storage, [issued('acme', AT, { token }), presented('acme', AT, { token })], {
    detect: true,
  })
})
afterAll(() => closeTestStorages())

describe('the status of a control', () => {
  it('passes with evidence and no finding, and says how it was decided', async () => {
    const r = await report()
    expect(r.status_rule).toEqual(DECISION_RULE)
    expect(control(r, 'NHI2:2025')).toMatchObject({
      status: 'pass',
      findings: [],
      finding_count: 0,
    })
    expect(control(r, 'NHI4:2025').status).toBe('pass')
    expect(control(r, 'NHI7:2025').status).toBe('pass')
  })

  it('fails while a finding of a mapped rule is open or acknowledged, not once it is a false positive', async () => {
    // A token minted for the API, presented to the MCP server and rejected: aud-mismatch-rejected.
    const token = { jti: 'stray-1', iat: IAT, exp: IAT + 600, aud: [API] }
    await seed(
      storage,
      [
        presented('acme', AT, {
          token,
          presented_aud: [API],
          decision: 'rejected',
          reason: 'aud_mismatch',
        }),
      ],
      { detect: true },
    )
    let r = await report()
    const finding = r.findings.find((f) => f.rule_id === 'aud-mismatch-rejected')!
    expect(finding).toMatchObject({ status: 'open', period_occurrences: 1 })
    const nhi2 = control(r, 'NHI2:2025')
    expect(nhi2.status).toBe('fail')
    expect(nhi2.findings).toContain(finding.id)
    expect(nhi2.reason).toMatch(/aud-mismatch-rejected/)
    // Not mapped to NHI4 (a rejection is the RS doing its job), so NHI4 still passes.
    expect(control(r, 'NHI4:2025').status).toBe('pass')

    await setTriage(storage, 'acme', finding.id, { status: 'false_positive', by: 'test' })
    r = await report()
    expect(control(r, 'NHI2:2025')).toMatchObject({ status: 'pass', findings: [] })
    expect(r.findings.find((f) => f.id === finding.id)?.status).toBe('false_positive')

    await setTriage(storage, 'acme', finding.id, { status: 'acknowledged', by: 'test' })
    expect(control(await report(), 'NHI2:2025').status).toBe('fail')
    await setTriage(storage, 'acme', finding.id, { status: 'resolved', by: 'test' })
    expect(control(await report(), 'NHI2:2025').status).toBe('pass')
  })

  it('fails when a metric breaches its threshold, with no finding at all', async () => {
    // Accepted without an audience check; no detector runs, so only the metric can tell.
    const token = { jti: 'lax-1', iat: IAT, exp: IAT + 600, aud: [MCP] }
    await seed(storage, [presented('acme', AT, { token, aud_validated: false })])
    const r = await report()
    const nhi4 = control(r, 'NHI4:2025')
    expect(nhi4).toMatchObject({ status: 'fail', findings: [] })
    expect(nhi4.reason).toBe(
      'Audience-validation coverage is 50 % of 2 accepted token presentations; the control requires at least 100 %.',
    )
    const metric = r.metrics.find((m) => m.id === 'aud_validation_coverage')!
    expect(metric).toMatchObject({ status: 'fail', threshold: { op: 'min', value: 1 } })
    // Accepted: the good token and this one (the stray token was rejected).
    expect(metric.value).toBe(1 / 2)
  })

  it('counts only findings that occurred in the period', async () => {
    const r = await buildComplianceReport(storage, {
      tenant: 'acme',
      framework: 'all',
      since: '2026-11-01T00:00:00Z',
      until: '2026-11-15T00:00:00Z',
    })
    expect(r.findings).toEqual([])
    expect(r.finding_counts).toEqual([])
    for (const fw of r.frameworks) expect(fw.summary.no_evidence).toBe(fw.summary.controls)
  })

  it('reports progress step by step up to 100%', async () => {
    const steps: number[] = []
    await buildComplianceReport(storage, {
      tenant: 'acme',
      framework: 'nist-800-207',
      ...PERIOD,
      onProgress: ({ done, total }) => steps.push(done / total),
    })
    expect(steps[0]).toBe(0)
    expect(steps.at(-1)).toBe(1)
    expect([...steps].sort((a, b) => a - b)).toEqual(steps)
  })
})
