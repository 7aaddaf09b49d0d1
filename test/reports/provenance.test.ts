/**
 * A report's scope, evidence and provenance from stored events and real detections: the sources
 * that reported in the period and the silent ones, sample events of the failing controls, the
 * closed findings with who, when and why, the versions, and the digest of the whole.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setTriage } from '../../src/detection/findings-store.js'
import { RULES } from '../../src/detection/rules/index.js'
import { buildComplianceReport, ComplianceReport, renderReport } from '../../src/reports/index.js'
import { verifyReport } from '../../src/reports/integrity.js'
import { queryTopFindings, ruleSetVersion } from '../../src/reports/provenance.js'
import { migrate } from '../../src/storage/migrate.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'
import { API, issued, MCP, presented, seed } from './fixtures.js'

const storage = testStorage('reports_provenance')
const PERIOD = { since: '2026-10-01T00:00:00Z', until: '2026-11-01T00:00:00Z' }
const AT = '2026-10-10T12:00:00.000Z'
const BEFORE = '2026-09-20T12:00:00.000Z'
const IAT = Math.floor(Date.parse(AT) / 1000) - 60

const report = () => buildComplianceReport(storage, { tenant: 'acme', framework: 'all', ...PERIOD })

beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
  const good = { jti: 'good-1', iat: IAT, exp: IAT + 600, aud: [MCP] }
  // A token minted for the API, accepted by the MCP server: aud-mismatch-accepted (critical).
  const stray = { jti: 'stray-1', iat: IAT, exp: IAT + 600, aud: [API] }
  // One rejected at the MCP server: aud-mismatch-rejected, closed by an analyst below.
  const other = { jti: 'other-1', iat: IAT, exp: IAT + 600, aud: [API] }
  await seed(
    storage,
    [
      issued('acme', AT, { token: good }),
      presented('acme', AT, { token: good }),
      presented('acme', AT, {
        token: stray,
        presented_aud: [API],
        source: { kind: 'mcp_server', id: 'files-mcp' },
      }),
      presented('acme', AT, {
        token: other,
        presented_aud: [API],
        decision: 'rejected',
        reason: 'aud_mismatch',
        source: { kind: 'resource_server', id: 'orders-api' },
      }),
      // Seen before the period, not in it: silent.
      presented('acme', BEFORE, { token: good, source: { kind: 'mcp_server', id: 'legacy-mcp' } }),
      // Another tenant's source never shows.
      presented('globex', AT, { token: good, source: { kind: 'mcp_server', id: 'globex-mcp' } }),
    ],
    { detect: true },
  )
  const r = await report()
  const rejected = r.findings.find((f) => f.rule_id === 'aud-mismatch-rejected')!
  await setTriage(storage, 'acme', rejected.id, {
    status: 'false_positive',
    note: 'orders-api was being migrated; **expected** <b>rejections</b>',
    by: 'alice@example.com',
  })
})
afterAll(() => closeTestStorages())

describe('scope and provenance', () => {
  it('lists the sources that reported in the period with their counts, and the silent ones', async () => {
    const r = await report()
    expect(r.scope.tenant).toBe('acme')
    expect(r.scope.period).toEqual(r.period)
    const reporting = Object.fromEntries(
      r.scope.sources.map((s) => [`${s.kind}/${s.id}`, s.events]),
    )
    expect(reporting).toEqual({
      'authorization_server/as': 1,
      'mcp_server/files-mcp': 2,
      'resource_server/orders-api': 1,
    })
    expect(r.scope.silent_sources.map((s) => [s.kind, s.id, s.events, s.last_seen])).toEqual([
      ['mcp_server', 'legacy-mcp', 0, BEFORE],
    ])
    expect(JSON.stringify(r.scope)).not.toContain('globex')
  })

  it('names the versions: audtrail, the rule set and the catalog', async () => {
    const r = await report()
    expect(r.provenance.audtrail_version).toMatch(/^\d+\.\d+\.\d+/)
    expect(r.provenance.rule_set).toEqual({
      version: `sha256:${ruleSetVersion().digest}`,
      rules: RULES.length,
    })
    expect(r.provenance.catalog.version).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(r.provenance.catalog.frameworks.map((f) => f.id)).toEqual(r.frameworks.map((f) => f.id))
    const one = await buildComplianceReport(storage, {
      tenant: 'acme',
      framework: 'mcp-authorization',
      ...PERIOD,
    })
    expect(one.provenance.catalog.version).not.toBe(r.provenance.catalog.version)
  })
})

describe('evidence', () => {
  it("samples the events of a failing control's findings, with no token in them", async () => {
    const r = await report()
    const handling = r.frameworks
      .find((f) => f.id === 'mcp-authorization')!
      .controls.find((c) => c.id === 'mcp-authz/token-handling')!
    expect(handling.status).toBe('fail')
    const samples = r.sample_events.filter((s) => s.rule_id === 'aud-mismatch-accepted')
    expect(samples.length).toBe(1)
    expect(samples[0]).toMatchObject({
      event_type: 'token.presented',
      occurred_at: AT,
      source: { kind: 'mcp_server', id: 'files-mcp' },
      token_key: 'stray-1',
      resource: MCP,
      presented_aud: [API],
      aud_match: 'different',
      decision: 'accepted',
    })
    // The sampled event is the finding's occurrence.
    const finding = r.findings.find((f) => f.rule_id === 'aud-mismatch-accepted')!
    expect(samples[0]!.finding_id).toBe(finding.id)
    // Only rules of failing controls are sampled; a closed rule is not.
    expect(r.sample_events.some((s) => s.rule_id === 'aud-mismatch-rejected')).toBe(false)
    // The fields an auditor needs and nothing else: no subject, no network, no token material.
    expect(Object.keys(samples[0]!).sort()).toEqual(
      [
        'aud_match',
        'aud_validated',
        'client_id',
        'decision',
        'event_id',
        'event_type',
        'finding_id',
        'granted_aud',
        'http_status',
        'occurred_at',
        'presented_aud',
        'reason',
        'requested_resources',
        'resource',
        'rule_id',
        'source',
        'token_key',
        'tool_method',
        'tool_name',
      ].sort(),
    )
  })

  it('says who closed which finding, when and why, and the HTML shows the note escaped', async () => {
    const r = await report()
    expect(r.closed_findings).toEqual([
      expect.objectContaining({
        rule_id: 'aud-mismatch-rejected',
        status: 'false_positive',
        closed_by: 'alice@example.com',
        note: 'orders-api was being migrated; **expected** <b>rejections</b>',
      }),
    ])
    expect(Date.parse(r.closed_findings[0]!.closed_at)).toBeGreaterThan(Date.parse(AT))
    const html = renderReport(r, 'html')
    expect(html).toContain('alice@example.com')
    expect(html).toContain('**expected** &lt;b&gt;rejections&lt;/b&gt;')
  })

  it("names each rule's most severe open findings, whatever the list's cap", async () => {
    const scope = {
      tenant: 'acme',
      since: Date.parse(PERIOD.since),
      until: Date.parse(PERIOD.until),
    }
    const top = await queryTopFindings(storage, scope, 1)
    const r = await report()
    const open = r.findings.filter((f) => f.status === 'open' || f.status === 'acknowledged')
    // One per rule with an open finding; the false positive is not among them.
    expect(top.map((f) => f.rule_id).sort()).toEqual(
      [...new Set(open.map((f) => f.rule_id))].sort(),
    )
    expect(top.some((f) => f.rule_id === 'aud-mismatch-rejected')).toBe(false)
    expect(top.every((f) => r.findings.some((g) => g.id === f.id))).toBe(true)
    expect(await queryTopFindings(storage, { ...scope, tenant: 'nobody' }, 5)).toEqual([])
  })

  it('is a valid report whose digest verifies, in every rendering', async () => {
    const r = ComplianceReport.parse(await report())
    expect(await verifyReport(renderReport(r, 'json'))).toMatchObject({ ok: true })
    expect(renderReport(r, 'csv')).toContain(`,${r.integrity.digest}\r\n`)
    expect(renderReport(r, 'html')).toContain(r.integrity.digest)
  })
})
