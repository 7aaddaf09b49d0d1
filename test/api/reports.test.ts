import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ComplianceReport, FRAMEWORK_IDS } from '../../src/reports/index.js'
import { migrate } from '../../src/storage/migrate.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { testApp } from '../helpers/api-app.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'
import { API, issued, MCP, presented, seed } from '../reports/fixtures.js'

const storage = testStorage('api_reports')
let app: FastifyInstance
let keys: Awaited<ReturnType<typeof apiKeys>>

const AT = '2026-10-10T12:00:00.000Z'
const IAT = Math.floor(Date.parse(AT) / 1000) - 60
const PERIOD = 'since=2026-10-01T00:00:00Z&until=2026-11-01T00:00:00Z'
const HOSTILE_CLIENT = `=cmd|' /C calc'!A0<script>alert("x")</script>`

beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
  // acme: one well-behaved token and one accepted audience mismatch from a hostile client id.
  const good = { jti: 'good-1', iat: IAT, exp: IAT + 600, aud: [MCP] }
  const stray = { jti: 'stray-1', iat: IAT, exp: IAT + 600, aud: [API] }
  await seed(
    storage,
    [
      issued('acme', AT, { token: good }),
      presented('acme', AT, { token: good }),
      presented('acme', AT, {
        client_id: HOSTILE_CLIENT,
        resource: `${MCP}/<script>alert(1)</script>`,
        token: stray,
        presented_aud: [API],
      }),
    ],
    { detect: true },
  )
  keys = await apiKeys()
  app = await testApp(keys, { storage })
})
afterAll(async () => {
  await app.close()
  await closeTestStorages()
})

async function get(query: string, claims: { roles?: string[]; tenant?: string } = {}) {
  const token = await keys.token({ roles: ['viewer'], tenant: 'acme', ...claims })
  return app.inject({
    method: 'GET',
    url: `/v1/reports/compliance?${query}`,
    headers: { authorization: `Bearer ${token}` },
  })
}

/** The report without its generation time (and the digest over it), to compare two reports. */
const stable = (body: string) => {
  const { generated_at: _, integrity: __, ...rest } = ComplianceReport.parse(JSON.parse(body))
  return rest
}

describe('GET /v1/reports/compliance', () => {
  it('answers a viewer with the JSON report of one framework, or of all six', async () => {
    const one = await get(`framework=mcp-authorization&${PERIOD}`)
    expect(one.statusCode).toBe(200)
    expect(one.headers['content-type']).toMatch(/^application\/json/)
    const report = ComplianceReport.parse(one.json())
    expect(report.tenant).toBe('acme')
    expect(report.period).toEqual({
      since: '2026-10-01T00:00:00.000Z',
      until: '2026-11-01T00:00:00.000Z',
    })
    expect(report.frameworks.map((f) => f.id)).toEqual(['mcp-authorization'])
    const handling = report.frameworks[0]!.controls.find(
      (c) => c.id === 'mcp-authz/token-handling',
    )!
    expect(handling.status).toBe('fail')
    expect(handling.citation?.quote).toMatch(/^MCP servers MUST validate/)
    const coverage = report.metrics.find((m) => m.id === 'aud_validation_coverage')
    expect(coverage).toMatchObject({ value: 1, numerator: 2, basis: 2, status: 'pass' })
    const finding = report.findings.find((f) => f.rule_id === 'aud-mismatch-accepted')!
    expect(handling.findings).toContain(finding.id)
    expect(finding.keys.client_id).toBe(HOSTILE_CLIENT)

    const all = ComplianceReport.parse((await get(`framework=all&${PERIOD}`)).json())
    expect(all.frameworks.map((f) => f.id)).toEqual([...FRAMEWORK_IDS])
    const analyst = await get(`framework=all&${PERIOD}`, { roles: ['analyst'] })
    expect(analyst.statusCode).toBe(200)
  })

  it("never lets another tenant's events or findings change the report", async () => {
    const before = stable((await get(`framework=all&${PERIOD}`)).body)
    const token = { jti: 'stray-1', iat: IAT, exp: IAT - 3600, aud: ['https://evil.example'] }
    await seed(
      storage,
      [
        presented('globex', AT, { token, presented_aud: ['https://evil.example'] }),
        presented('globex', AT, { token, aud_validated: false, resource: API }),
        issued('globex', AT, { token, requested_resources: [] }),
      ],
      { detect: true },
    )
    const globex = stable((await get(`framework=all&${PERIOD}`, { tenant: 'globex' })).body)
    expect(globex.findings.length).toBeGreaterThan(0)
    expect(globex.tenant).toBe('globex')
    expect(stable((await get(`framework=all&${PERIOD}`)).body)).toEqual(before)
    // A tenant parameter cannot widen a bound caller's view.
    expect(stable((await get(`framework=all&${PERIOD}&tenant=globex`)).body)).toEqual(before)
  })

  it('needs the viewer role', async () => {
    expect((await get(`framework=all&${PERIOD}`, { roles: ['ingest'] })).statusCode).toBe(403)
    expect((await get(`framework=all&${PERIOD}`, { roles: [] })).statusCode).toBe(403)
    const anonymous = await app.inject({
      method: 'GET',
      url: `/v1/reports/compliance?framework=all&${PERIOD}`,
    })
    expect(anonymous.statusCode).toBe(401)
  })

  it.each([
    ['framework=owasp-top-10&' + PERIOD, 'framework'],
    [PERIOD, 'framework'],
    ["framework=all' OR 1=1 --&" + PERIOD, 'framework'],
    ['framework=all&since=2026-11-01T00:00:00Z&until=2026-10-01T00:00:00Z', 'since'],
    ['framework=all&since=2026-10-01T00:00:00Z&until=2026-10-01T00:00:00Z', 'since'],
    ['framework=all&since=2025-01-01&until=2026-06-01', 'until'],
    ['framework=all&since=yesterday', 'since'],
    ['framework=all&since=2500-01-01&until=2500-02-01', 'since'],
    ['framework=all&since=1969-12-01&until=1970-01-02', 'since'],
    ["framework=all&since=2026-10-01'; DROP TABLE events; --", 'since'],
    ['framework=all&until=2026-10-01T00:00:00', 'until'],
    ['framework=all&format=pdf', 'format'],
    ['framework=all&format=json&format=csv', 'format'],
    ['framework=all&tenant=x%27%20OR%201%3D1', 'tenant'],
    ['framework=all&unknown=1', '(query)'],
  ])('answers 400 to %s', async (query, field) => {
    const res = await get(query)
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ statusCode: 400, code: 'ERR_BAD_REQUEST' })
    expect(res.json().message).toContain(field)
  })

  it('defaults to the last 30 days when no period is given', async () => {
    const report = ComplianceReport.parse((await get('framework=nist-800-207')).json())
    const span = Date.parse(report.period.until) - Date.parse(report.period.since)
    expect(span).toBe(30 * 86_400_000)
  })

  it('sends CSV as an attachment, one row per control, hostile values neutralised', async () => {
    const res = await get(`framework=mcp-authorization&format=csv&${PERIOD}`)
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/csv/)
    expect(res.headers['content-disposition']).toBe(
      'attachment; filename="compliance-mcp-authorization-acme-2026-10-01-2026-11-01.csv"',
    )
    const lines = res.body.trimEnd().split('\r\n')
    const report = ComplianceReport.parse(
      (await get(`framework=mcp-authorization&${PERIOD}`)).json(),
    )
    expect(lines.length).toBe(1 + report.frameworks[0]!.controls.length)
  })

  it('shows self-contained HTML inline, every value escaped, with download links of the same period', async () => {
    const res = await get(`framework=all&format=html&${PERIOD}`)
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/html/)
    expect(res.headers['content-disposition']).toMatch(
      /^inline; filename="compliance-all-acme-.*\.html"$/,
    )
    expect(res.headers['content-security-policy']).toBe(
      "default-src 'none'; style-src 'unsafe-inline'",
    )
    expect(res.body).not.toMatch(/<script/i)
    expect(res.body).not.toMatch(/\ssrc=/i)
    expect(res.body).not.toMatch(/href="?https?:/i)
    // Each download names the period shown, so that it is the same report as a file.
    const links = [...res.body.matchAll(/href="(\/v1\/reports\/compliance\?[^"]+)"/g)].map((m) =>
      m[1]!.replaceAll('&amp;', '&'),
    )
    expect(links.map((l) => new URLSearchParams(l.split('?')[1]).get('format')).sort()).toEqual([
      'csv',
      'html',
      'json',
    ])
    for (const l of links) {
      const q = new URLSearchParams(l.split('?')[1])
      expect(q.get('download')).toBe('1')
      expect(q.get('since')).toBe('2026-10-01T00:00:00.000Z')
      const file = await get(l.split('?')[1]!)
      expect(file.statusCode).toBe(200)
      expect(file.headers['content-disposition']).toMatch(
        /^attachment; filename="compliance-all-acme-/,
      )
    }
    expect(res.body).toContain(
      '=cmd|&#39; /C calc&#39;!A0&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;',
    )
  })

  it("applies the operator's AUDTRAIL_REPORT_THRESHOLDS: an informational share then decides a control", async () => {
    const strict = await testApp(keys, {
      storage,
      reportThresholds: { sender_constrained_token_share: { op: 'min', value: 0.5 } },
    })
    try {
      const token = await keys.token({ roles: ['viewer'], tenant: 'acme' })
      const ask = (a: FastifyInstance) =>
        a.inject({
          method: 'GET',
          url: `/v1/reports/compliance?framework=nist-800-53r5&${PERIOD}`,
          headers: { authorization: `Bearer ${token}` },
        })
      const [byDefault, withPolicy] = [
        ComplianceReport.parse((await ask(app)).json()),
        ComplianceReport.parse((await ask(strict)).json()),
      ]
      const share = (r: typeof byDefault) =>
        r.metrics.find((m) => m.id === 'sender_constrained_token_share')!
      // No token of acme is bound: the share is 0 either way; only the policy makes it a failure.
      expect(share(byDefault)).toMatchObject({ value: 0, threshold: null, status: 'informational' })
      expect(share(withPolicy)).toMatchObject({
        value: 0,
        threshold: { op: 'min', value: 0.5 },
        status: 'fail',
      })
      const sc23 = (r: typeof byDefault) => r.frameworks[0]!.controls.find((c) => c.id === 'SC-23')!
      expect(sc23(withPolicy).status).toBe('fail')
      expect(sc23(withPolicy).reason).toMatch(/sender/i)
    } finally {
      await strict.close()
    }
  })
})
