/**
 * Report behaviours an outside audit found unpinned: one expired token accepted fails its metric
 * and every control that uses it, with no finding at all; and each control's rule list in the
 * report is complete against the rules' mapping table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RULES } from '../../src/detection/rules/index.js'
import { MAPPED, mappedIds, mappingId } from '../../src/frameworks/index.js'
import { FRAMEWORKS } from '../../src/reports/frameworks.js'
import { buildComplianceReport } from '../../src/reports/index.js'
import { migrate } from '../../src/storage/migrate.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'
import { MCP, presented, seed } from './fixtures.js'

const storage = testStorage('reports_survivors')
const PERIOD = { since: '2026-10-01T00:00:00Z', until: '2026-11-01T00:00:00Z' }
const AT = '2026-10-10T12:00:00.000Z'
const NOW_S = Math.floor(Date.parse(AT) / 1000)

beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
  // Expired an hour before it was accepted (far beyond any clock skew); no detector runs.
  const token = { jti: 'stale-1', iat: NOW_S - 7200, exp: NOW_S - 3600, aud: [MCP] }
  await seed(storage, [presented('expired', AT, { token })])
})
afterAll(closeTestStorages)

describe('the compliance report', () => {
  it('fails expired_tokens_accepted and each control using it for one expired token accepted, with no finding', async () => {
    const r = await buildComplianceReport(storage, {
      tenant: 'expired',
      framework: 'all',
      ...PERIOD,
    })
    expect(r.findings).toEqual([])
    expect(r.finding_counts).toEqual([])
    expect(r.metrics.find((m) => m.id === 'expired_tokens_accepted')).toMatchObject({
      value: 1,
      basis: 1,
      threshold: { op: 'max', value: 0 },
      status: 'fail',
    })
    const using = r.frameworks.flatMap((fw) =>
      fw.controls
        .filter((c) => c.metrics.includes('expired_tokens_accepted'))
        .map((c) => ({ fw: fw.id, ...c })),
    )
    // NHI7 (Long-Lived Secrets) among them, and every one fails on that metric.
    expect(using.map((c) => `${c.fw} ${c.id}`)).toContain('owasp-nhi-2025 NHI7:2025')
    for (const c of using) {
      expect(c.status, `${c.fw} ${c.id}`).toBe('fail')
      expect(c.reason, `${c.fw} ${c.id}`).toContain(
        'Expired tokens accepted: 1 (over 1 tokens with a known `exp` accepted in the period); the control requires at most 0.',
      )
      expect(c.findings).toEqual([])
    }
    const nhi7 = r.frameworks
      .find((fw) => fw.id === 'owasp-nhi-2025')!
      .controls.find((c) => c.id === 'NHI7:2025')!
    expect(nhi7).toMatchObject({ status: 'fail', finding_count: 0 })
  })

  it("lists under each control every rule whose mappings name the control's id", async () => {
    const r = await buildComplianceReport(storage, {
      tenant: 'expired',
      framework: 'all',
      ...PERIOD,
    })
    const problems: string[] = []
    for (const fw of r.frameworks) {
      const field = MAPPED.find((f) => f.id === fw.id)?.mapping.key
      if (field === undefined) {
        // The MCP clauses list their rules (docs/spec/mcp-authorization.md); the report keeps them all.
        const defs = FRAMEWORKS[fw.id].controls
        for (const c of fw.controls) {
          const def = defs.find((d) => d.id === c.id)!
          for (const rule of def.rules)
            if (!c.rules.includes(rule)) problems.push(`${fw.id} ${c.id}: ${rule} missing`)
        }
        continue
      }
      for (const c of fw.controls) {
        const mapped = RULES.filter((rule) =>
          mappedIds(rule.mappings, field).includes(mappingId(c.id)),
        )
        for (const rule of mapped)
          if (!c.rules.includes(rule.id)) problems.push(`${fw.id} ${c.id}: ${rule.id} missing`)
        for (const id of c.rules)
          if (!mapped.some((rule) => rule.id === id)) problems.push(`${fw.id} ${c.id}: ${id} extra`)
      }
    }
    expect(problems).toEqual([])
    // Not vacuous: rules are mapped, and reach the report.
    expect(
      r.frameworks.flatMap((fw) => fw.controls.flatMap((c) => c.rules)).length,
    ).toBeGreaterThan(RULES.length)
  })
})
