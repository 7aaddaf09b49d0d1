import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RULES } from '../../src/detection/rules/index.js'
import { SEVERITIES } from '../../src/detection/rule.js'
import { MAPPED } from '../../src/frameworks/index.js'
import { DEFAULT_THRESHOLDS } from '../../src/reports/metrics.js'
import { queryEventMetrics } from '../../src/reports/evidence.js'
import { querySenderConstraint } from '../../src/storage/report-sender-constraint.js'
import { senderConstraintCoverage } from '../../src/storage/sender-coverage.js'
import { migrate } from '../../src/storage/migrate.js'
import { renderGrafanaSql, SUPPORTED_MACROS } from '../helpers/grafana-macros.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'
import {
  loadDashboards,
  loadYaml,
  PLUGIN,
  queryPanels,
  allPanels,
  type Dashboard,
  type DashboardProvisioning,
  type DatasourceProvisioning,
  type Panel,
} from './load.js'
import { MCP, MCP_B, MCP_SLASH, seedScenario, type Scenario } from './seed.js'

const dashboards = loadDashboards()
const datasource = loadYaml<DatasourceProvisioning>(
  'dashboards/provisioning/datasources/clickhouse.yaml',
).datasources[0]!
const TENANT_FILTER = "tenant = '${tenant:percentencode}'"

describe('dashboard files', () => {
  it('are the five audtrail dashboards, each with a stable unique uid and the audtrail tag', () => {
    expect(dashboards.map(([, d]) => d.uid).sort()).toEqual([
      'audtrail-audience-integrity',
      'audtrail-compliance',
      'audtrail-findings',
      'audtrail-overview',
      'audtrail-token-usage',
    ])
    for (const [file, d] of dashboards) {
      expect(file).toBe(`${d.uid}.json`)
      expect(d.tags, file).toContain('audtrail')
      expect(d.schemaVersion, file).toBeGreaterThanOrEqual(39)
      expect(d.time, file).toBeDefined()
    }
  })

  it.each(dashboards)('%s has a tenant query variable over the data', (_, d) => {
    const tenant = d.templating.list.find((v) => v.name === 'tenant')
    expect(tenant).toMatchObject({ type: 'query', datasource: { type: PLUGIN } })
    const sql = typeof tenant!.query === 'string' ? tenant!.query : tenant!.query?.rawSql
    expect(sql).toMatch(/\bFROM events\b/)
  })

  it.each(dashboards)(
    '%s: every panel has a position, a unique id and SQL for the provisioned datasource',
    (_, d) => {
      const problems: string[] = []
      const ids = allPanels(d).map((p) => p.id)
      if (new Set(ids).size !== ids.length) problems.push(`duplicate panel ids: ${ids.join(',')}`)
      const titles = queryPanels(d).map((p) => p.title)
      if (new Set(titles).size !== titles.length) problems.push(`duplicate panel titles`)
      for (const p of allPanels(d)) {
        const g = p.gridPos
        if (!g || ![g.h, g.w, g.x, g.y].every(Number.isInteger) || g.x + g.w > 24)
          problems.push(`${p.title}: gridPos ${JSON.stringify(g)}`)
      }
      for (const p of queryPanels(d)) {
        const where = `${d.title} / ${p.title}`
        if (p.datasource?.type !== PLUGIN || p.datasource.uid !== datasource.uid)
          problems.push(`${where}: datasource ${JSON.stringify(p.datasource)}`)
        const targets = p.targets ?? []
        if (!targets.some((t) => (t.rawSql ?? '').trim() !== ''))
          problems.push(`${where}: no target with rawSql`)
        for (const t of targets) {
          const sql = t.rawSql ?? ''
          if (t.datasource?.type !== PLUGIN || t.datasource.uid !== datasource.uid)
            problems.push(`${where}: target datasource ${JSON.stringify(t.datasource)}`)
          if (t.editorType !== 'sql') problems.push(`${where}: editorType ${t.editorType}`)
          if (t.format !== (p.type === 'timeseries' ? 0 : 1))
            problems.push(`${where}: format ${t.format} for a ${p.type} panel`)
          // Every table reference must be tenant-bound (one filter per FROM/JOIN of a table).
          const tables = sql.match(/\b(?:FROM|JOIN)\s+[a-z_]+\b/g) ?? []
          const filters = sql.split(TENANT_FILTER).length - 1
          if (filters < tables.length)
            problems.push(`${where}: ${tables.length} tables but ${filters} tenant filters`)
          if (!/\$__(timeFilter|dateFilter)\(/.test(sql))
            problems.push(`${where}: not bound to the dashboard time range`)
          if (/\b(?:FROM|JOIN)\s+[A-Za-z_]+\.[A-Za-z_]/.test(sql) || sql.includes('{{'))
            problems.push(`${where}: names a database instead of the provisioned default`)
          for (const m of sql.matchAll(/\$__([A-Za-z_]+)/g))
            if (!(SUPPORTED_MACROS as readonly string[]).includes(m[1]!))
              problems.push(`${where}: macro $__${m[1]}`)
        }
      }
      expect(problems).toEqual([])
    },
  )
})

describe('the compliance dashboard names every mapped framework', () => {
  it("its control panel translates each rule mapping field of the registry to the framework's id", () => {
    const compliance = dashboards.find(([, d]) => d.uid === 'audtrail-compliance')![1]
    const sql = JSON.stringify(compliance)
    const transform = /transform\(tupleElement\(fm, 1\),\\n\s*\[([^\]]*)\],\\n\s*\[([^\]]*)\]/.exec(
      sql,
    )
    expect(transform, 'the transform(...) of the framework control panel').not.toBeNull()
    const list = (s: string) => s.split(',').map((x) => x.trim().replace(/^'|'$/g, ''))
    const fields = list(transform![1]!)
    const ids = list(transform![2]!)
    expect(new Map(fields.map((f, i) => [f, ids[i]]))).toEqual(
      new Map(MAPPED.map((f) => [f.mapping.key, f.id])),
    )
  })
})

describe('provisioning', () => {
  it('points Grafana at the mounted dashboards folder and the compose ClickHouse database', () => {
    const compose = loadYaml<{
      services: Record<string, { volumes?: string[]; environment?: Record<string, string> }>
    }>('docker-compose.yml')
    const mounts = Object.fromEntries(
      compose.services.grafana!.volumes!.map((v) => {
        const [host, container] = v.split(':')
        return [container!, host!]
      }),
    )
    const provider = loadYaml<DashboardProvisioning>(
      'dashboards/provisioning/dashboards/audtrail.yaml',
    ).providers[0]!
    expect(provider.type).toBe('file')
    expect(mounts[provider.options.path]).toBe('./dashboards/json')
    expect(mounts['/etc/grafana/provisioning/dashboards']).toBe(
      './dashboards/provisioning/dashboards',
    )
    expect(mounts['/etc/grafana/provisioning/datasources']).toBe(
      './dashboards/provisioning/datasources',
    )
    expect(datasource.type).toBe(PLUGIN)
    expect(datasource.jsonData.defaultDatabase).toBe(
      compose.services.clickhouse!.environment!.CLICKHOUSE_DB,
    )
  })
})

// The dashboards name tables without a database, as Grafana sends them: the session's default
// database is the provisioned one, as the datasource's defaultDatabase makes it on a server.
const storage = testStorage(datasource.jsonData.defaultDatabase!)
let scenario: Scenario
type Row = Record<string, unknown>

/** The analysts' filter variables (audtrail-findings) at All: the value of their custom All. */
const ALL_FILTERS = { client: '__all__', resource: '__all__', rule: '__all__', severity: '__all__' }

async function run(
  sql: string,
  tenant: string,
  intervalMs = 60_000,
  filters: Readonly<Record<string, string | readonly string[]>> = {},
): Promise<Row[]> {
  const query = renderGrafanaSql(sql, {
    from: scenario.from,
    to: scenario.to,
    intervalMs,
    variables: { tenant, ...ALL_FILTERS, ...filters },
  })
  // The embedded engine has no per-request default database (the datasource's defaultDatabase);
  // USE in the same request sets it on whichever pooled connection runs the panel.
  const rs = await storage.client.query({
    query: `USE ${datasource.jsonData.defaultDatabase}; ${query}`,
    format: 'JSONEachRow',
  })
  return rs.json<Row>()
}

/** Every panel's rows for a tenant, keyed by title; failures name the dashboard and panel. */
async function runDashboard(d: Dashboard, tenant: string) {
  const results = new Map<string, Row[]>()
  const failures: string[] = []
  for (const p of queryPanels(d))
    try {
      results.set(p.title, await run(p.targets![0]!.rawSql!, tenant))
    } catch (err) {
      failures.push(`${d.title} / ${p.title}: ${(err as Error).message.split('\n')[0]}`)
    }
  return { results, failures }
}

const byUid = (uid: string) => dashboards.find(([, d]) => d.uid === uid)![1]
const panelsOf = (uid: string) => new Map(queryPanels(byUid(uid)).map((p) => [p.title, p]))
const rowsOf = async (uid: string, tenant = 'acme') => {
  const { results, failures } = await runDashboard(byUid(uid), tenant)
  expect(failures).toEqual([])
  return results
}
const num = (v: unknown) => Number(v)

beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
  scenario = await seedScenario(storage)
})
afterAll(closeTestStorages)

describe('panel SQL against the real schema', () => {
  it('the seeded data holds a redelivered event twice, so deduplication is put to the test', async () => {
    const [row] = await run(
      `SELECT count() AS n FROM events WHERE event_id = '${scenario.acme.redeliveredEventId}'`,
      'acme',
    )
    expect(num(row!.n)).toBe(2)
  })

  it('the tenant variable lists the tenants with events in the range', async () => {
    for (const [, d] of dashboards) {
      const v = d.templating.list.find((x) => x.name === 'tenant')!
      const rows = await run(typeof v.query === 'string' ? v.query : v.query!.rawSql!, 'acme')
      expect(rows.map((r) => r.tenant)).toEqual(['acme', 'globex'])
    }
  })

  it.each(dashboards)('%s: every panel runs and returns rows of its shape', async (_, d) => {
    const { results, failures } = await runDashboard(d, 'acme')
    const problems = [...failures]
    for (const p of queryPanels(d)) {
      const rows = results.get(p.title)
      if (!rows) continue
      problems.push(...shapeProblems(`${d.title} / ${p.title}`, p, rows))
    }
    expect(problems).toEqual([])
  })

  it.each(dashboards)("%s: no panel shows another tenant's rows", async (_, d) => {
    const acme = await runDashboard(d, 'acme')
    const globex = await runDashboard(d, 'globex')
    expect([...acme.failures, ...globex.failures]).toEqual([])
    const leaks: string[] = []
    for (const [title, rows] of acme.results)
      if (JSON.stringify(rows).includes('globex')) leaks.push(`acme sees globex in ${title}`)
    for (const [title, rows] of globex.results)
      if (JSON.stringify(rows).includes('acme')) leaks.push(`globex sees acme in ${title}`)
    expect(leaks).toEqual([])
  })

  it('a hostile tenant value stays inside the string literal', async () => {
    const events = panelsOf('audtrail-overview').get('Events')!.targets![0]!.rawSql!
    for (const tenant of ["acme' OR tenant != '", "acme\\' OR 1 = 1 OR tenant = '"]) {
      const [row] = await run(events, tenant)
      expect(num(row!.events), tenant).toBe(0)
    }
    expect(num((await run(events, 'acme'))[0]!.events)).toBeGreaterThan(0)
  })
})

/** PERCENTILE.INC: linear interpolation between the closest ranks. */
function percentileInc(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const rank = p * (sorted.length - 1)
  const low = Math.floor(rank)
  const high = Math.min(low + 1, sorted.length - 1)
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low)
}

/** Time series: a time column first, ordered; stats: one row of numbers; charts: label + numbers. */
function shapeProblems(where: string, panel: Panel, rows: Row[]): string[] {
  if (rows.length === 0) return [`${where}: no rows for the seeded tenant`]
  const columns = Object.keys(rows[0]!)
  const numeric = (v: unknown) => v === null || (typeof v !== 'boolean' && !isNaN(Number(v)))
  switch (panel.type) {
    case 'timeseries': {
      if (columns[0] !== 'time') return [`${where}: first column is ${columns[0]}`]
      const times = rows.map((r) => Date.parse(`${String(r.time).replace(' ', 'T')}Z`))
      if (times.some(isNaN)) return [`${where}: unparseable time ${String(rows[0]!.time)}`]
      if (times.some((t, i) => i > 0 && t < times[i - 1]!)) return [`${where}: not ordered by time`]
      const values = rows.flatMap((r) => Object.values(r).slice(1))
      return values.some((v) => typeof v === 'number' || numeric(v))
        ? []
        : [`${where}: no numeric value column`]
    }
    case 'stat':
      if (rows.length !== 1) return [`${where}: ${rows.length} rows`]
      return Object.values(rows[0]!).every(numeric) ? [] : [`${where}: non-numeric value`]
    case 'piechart':
    case 'barchart':
      return rows.every(
        (r) => typeof Object.values(r)[0] === 'string' && Object.values(r).slice(1).every(numeric),
      )
        ? []
        : [`${where}: expected a label column and numeric columns`]
    default:
      return []
  }
}

describe('panels see the seeded cases', () => {
  it('overview counts each distinct event once and shows the open findings', async () => {
    const rows = await rowsOf('audtrail-overview')
    expect(num(rows.get('Events')![0]!.events)).toBe(new Set(scenario.acme.eventIds).size)
    const byType = rows.get('Events per second by type')!
    const total = byType.reduce((n, r) => n + num(r.events_per_s) * 60, 0)
    expect(Math.round(total)).toBe(scenario.acme.eventIds.length)
    const decisions = rows.get('Resource-server decisions')!
    const presented = scenario.acme.presented
    expect(decisions.reduce((n, r) => n + num(r.rejected), 0)).toBe(
      presented.filter((e) => e.decision === 'rejected').length,
    )
    expect(num(rows.get('Refused input (DLQ)')![0]!.refused)).toBe(1)
    const open = rows.get('Open findings by severity')!
    expect(open.map((r) => r.finding_id)).not.toContain(scenario.acknowledgedFinding)
    expect(open.map((r) => r.rule_id)).toContain('aud-mismatch-accepted')
    expect(num(rows.get('Open findings')![0]!.open_findings)).toBe(open.length)
  })

  it('audience integrity finds the mismatch, the replay, the drift and the rest', async () => {
    const rows = await rowsOf('audtrail-audience-integrity')
    const mismatches = rows.get('Latest accepted audience mismatches')!.map((r) => r.event_id)
    const strip = (s: string) => s.replace(/\/$/, '')
    const expected = scenario.acme.presented.filter(
      (e) =>
        e.decision === 'accepted' &&
        !(e.presented_aud as string[]).some((a) => strip(a) === strip(e.resource as string)),
    )
    expect(mismatches).toContain(scenario.acme.mismatchEventId)
    expect([...mismatches].sort()).toEqual(expected.map((e) => e.event_id).sort())
    const replay = rows.get('Cross-audience replay')!
    expect(replay).toEqual([
      expect.objectContaining({
        token_key: scenario.acme.replayedToken,
        resources: [MCP_B, MCP].sort(),
        accepted_outside: [MCP_B],
      }),
    ])
    const drift = rows.get('Resource URI drift: raw spellings per resource')!
    expect(drift).toContainEqual(
      expect.objectContaining({ raw_spellings: [MCP, MCP_SLASH].sort(), variants: 2 }),
    )
    expect(rows.get('Multi-audience tokens by last use')!.map((r) => r.token_key)).toContain(
      scenario.acme.multiAudienceToken,
    )
    expect(rows.get('Expired tokens accepted, by token')!.map((r) => r.token_key)).toEqual([
      scenario.acme.expiredToken,
    ])
    // The anonymous request was stored twice and counts once.
    expect(rows.get('Requests without resource indicator, by client')).toEqual([
      expect.objectContaining({
        client_id: scenario.acme.clientWithoutIndicator,
        authorization_requests: 1,
        token_requests: 1,
      }),
      expect.objectContaining({ client_id: '', authorization_requests: 1, token_requests: 0 }),
    ])
  })

  it('token usage ranks the clients and tools of the tenant', async () => {
    const rows = await rowsOf('audtrail-token-usage')
    const presented = scenario.acme.presented
    expect(num(rows.get('Presentations')![0]!.presentations)).toBe(presented.length)
    const top = rows.get('Top clients')!
    expect(top[0]).toMatchObject({ client_id: 'acme-agent', presentations: presented.length })
    const tools = rows.get('Tools invoked (top 15)')!
    const calls = (name: string) =>
      presented.filter((e) => (e.tool as { name?: string } | undefined)?.name === name).length
    expect(tools).toContainEqual({ tool: 'read_file', calls: calls('read_file') })
    expect(tools[0]!.calls).toBeGreaterThanOrEqual(tools.at(-1)!.calls as number)
  })

  it('compliance computes coverage, lifetimes and findings per framework control', async () => {
    const rows = await rowsOf('audtrail-compliance')
    const accepted = scenario.acme.presented.filter((e) => e.decision === 'accepted')
    const validated = accepted.filter((e) => e.aud_validated === true)
    expect(num(rows.get('Audience-validation coverage')![0]!.audience_validation_coverage)).toBe(
      validated.length / accepted.length,
    )
    const requests = scenario.acme.events.filter((e) =>
      ['authorization.requested', 'token.issued', 'token.exchanged'].includes(
        e.event_type as string,
      ),
    )
    const withResource = requests.filter((e) => (e.requested_resources as string[]).length > 0)
    expect(num(rows.get('Resource-indicator coverage')![0]!.resource_indicator_coverage)).toBe(
      withResource.length / requests.length,
    )
    const lifetime = rows.get('Token lifetime p50 / p95')![0]!
    expect(num(lifetime.p50)).toBe(percentileInc(scenario.acme.lifetimes, 0.5))
    expect(num(lifetime.p95)).toBeCloseTo(percentileInc(scenario.acme.lifetimes, 0.95), 6)
    const mismatchRule = RULES.find((r) => r.id === 'aud-mismatch-accepted')!
    expect(rows.get('Findings by framework control')).toContainEqual(
      expect.objectContaining({
        framework: 'owasp-nhi-2025',
        control: mismatchRule.mappings.owasp_nhi[0],
      }),
    )
    const triage = rows.get('Triage status')!
    expect(triage).toContainEqual({ status: 'acknowledged', findings: 1 })
    expect(triage.map((r) => r.status)).toContain('open')
  })
})

describe('the compliance dashboard and the compliance report', () => {
  it('state the same evidence metrics for the same period', async () => {
    const rows = await rowsOf('audtrail-compliance')
    const report = await queryEventMetrics(storage, {
      tenant: 'acme',
      since: scenario.from.getTime(),
      until: scenario.to.getTime(),
    })
    const value = (title: string, column: string) => rows.get(title)![0]![column]
    expect(report.accepted_mismatches).toBeGreaterThan(0)
    expect({
      aud_validation: value('Audience-validation coverage', 'audience_validation_coverage'),
      resource_indicator: value('Resource-indicator coverage', 'resource_indicator_coverage'),
      logging: value('Logging completeness', 'logging_completeness'),
      p50: value('Token lifetime p50 / p95', 'p50'),
      p95: value('Token lifetime p50 / p95', 'p95'),
      mismatches: value('Accepted audience mismatches', 'accepted_mismatches'),
      multi_share: value('Multi-audience token share', 'multi_audience_share'),
      drifted: value('Drifted resources', 'drifted_resources'),
      replays: value('Tokens replayed across audiences', 'replayed_tokens'),
      expired: value('Expired tokens accepted', 'expired_tokens_accepted'),
    }).toEqual({
      aud_validation: report.accepted_validated / report.accepted,
      resource_indicator: report.token_requests_with_resource / report.token_requests,
      logging: report.complete_presentations / report.loggable_presentations,
      p50: report.lifetime_quantiles[0],
      p95: report.lifetime_quantiles[1],
      mismatches: report.accepted_mismatches,
      multi_share: report.multi_audience_tokens / report.tokens_with_aud,
      drifted: report.drifted_keys.length,
      replays: report.cross_audience_replays,
      expired: report.expired_tokens_accepted,
    })
  })
})

describe('the findings triage dashboard (audtrail-findings)', () => {
  const FILTERS = ['client', 'resource', 'rule', 'severity'] as const
  const findingsDashboard = () => byUid('audtrail-findings')
  const variable = (name: string) =>
    findingsDashboard().templating.list.find((v) => v.name === name)!
  const sqlOf = (title: string) => panelsOf('audtrail-findings').get(title)!.targets![0]!.rawSql!
  /** acme's findings last seen in the scenario's range, from the API's repository. */
  const acmeFindings = () =>
    storage.findings.list({
      tenant: 'acme',
      since: scenario.from.getTime(),
      until: scenario.to.getTime() + 1,
      limit: 10_000,
    })

  it('has client, resource, rule and severity variables with All, percent-encoded in every query', () => {
    for (const name of FILTERS) {
      expect(variable(name), name).toMatchObject({
        multi: true,
        includeAll: true,
        allValue: '__all__',
      })
      for (const p of queryPanels(findingsDashboard())) {
        const sql = p.targets![0]!.rawSql!
        expect(sql, `${p.title}: ${name}`).toContain(`'\${${name}:percentencode}' = '__all__'`)
        expect(
          sql
            .match(new RegExp(`\\$\\{${name}(?::(\\w+))?\\}`, 'g'))!
            .every((m) => m.endsWith(':percentencode}')),
        ).toBe(true)
      }
    }
    expect(String(variable('severity').query).split(',').sort()).toEqual([...SEVERITIES].sort())
  })

  it("the variable queries list the values of the tenant's findings", async () => {
    const findings = await acmeFindings()
    const distinct = (column: 'client_id' | 'resource' | 'rule_id') =>
      [...new Set(findings.map((f) => (column === 'rule_id' ? f.rule_id : (f.keys[column] ?? ''))))]
        .filter((v) => v !== '')
        .sort()
    for (const [name, column] of [
      ['client', 'client_id'],
      ['resource', 'resource'],
      ['rule', 'rule_id'],
    ] as const) {
      const v = variable(name)
      const rows = await run(typeof v.query === 'string' ? v.query : v.query!.rawSql!, 'acme')
      expect(
        rows.map((r) => r[column]),
        name,
      ).toEqual(distinct(column))
    }
  })

  it('filters by one value, several values, or All', async () => {
    const table = sqlOf('Findings')
    const all = await run(table, 'acme')
    expect(all.length).toBe((await acmeFindings()).length)
    expect(new Set(all.map((r) => r.severity)).size).toBeGreaterThan(1)
    for (const severities of [['critical'], ['high', 'critical'], ['low']]) {
      const rows = await run(table, 'acme', 60_000, { severity: severities })
      expect(rows.map((r) => r.finding_id).sort(), severities.join()).toEqual(
        all
          .filter((r) => severities.includes(r.severity as string))
          .map((r) => r.finding_id)
          .sort(),
      )
    }
    const client = all.find((r) => r.client_id !== '')!.client_id as string
    const byClient = await run(table, 'acme', 60_000, { client: [client] })
    expect(byClient.length).toBe(all.filter((r) => r.client_id === client).length)
    const resources = [...new Set(all.map((r) => r.resource as string).filter((r) => r !== ''))]
    expect(resources.length).toBeGreaterThan(0)
    const byResources = await run(table, 'acme', 60_000, { resource: resources })
    expect(byResources.length).toBe(
      all.filter((r) => resources.includes(r.resource as string)).length,
    )
    const rule = all[0]!.rule_id as string
    const byRule = await run(table, 'acme', 60_000, { rule: [rule], severity: '__all__' })
    expect(byRule.every((r) => r.rule_id === rule)).toBe(true)
    expect(byRule.length).toBe(all.filter((r) => r.rule_id === rule).length)
  })

  it('a hostile value stays inside its string literal', async () => {
    const table = sqlOf('Findings')
    for (const hostile of [
      ["x' OR 1 = 1 OR '"],
      ["a\\' OR 1 = 1 --", '%27'],
      ['}', '{'],
      ["__all__' OR '1"],
    ]) {
      for (const name of FILTERS) {
        const rows = await run(table, 'acme', 60_000, { [name]: hostile })
        expect(rows, `${name}: ${hostile.join(' | ')}`).toEqual([])
      }
    }
  })

  it('top offending clients ranks clients by their findings, not their traffic', async () => {
    const rows = await rowsOf('audtrail-findings')
    const top = rows.get('Top offending clients')!
    const findings = await acmeFindings()
    const expected = new Map<
      string,
      { findings: number; critical_or_high: number; occurrences: number }
    >()
    for (const f of findings) {
      const client = f.keys.client_id ?? ''
      if (client === '') continue
      const e = expected.get(client) ?? { findings: 0, critical_or_high: 0, occurrences: 0 }
      e.findings += 1
      if (f.severity === 'critical' || f.severity === 'high') e.critical_or_high += 1
      e.occurrences += f.count
      expected.set(client, e)
    }
    expect(top.length).toBe(expected.size)
    for (const r of top)
      expect(
        {
          findings: num(r.findings),
          critical_or_high: num(r.critical_or_high),
          occurrences: num(r.occurrences),
        },
        String(r.client_id),
      ).toEqual(expected.get(r.client_id as string))
    const counts = top.map((r) => num(r.findings))
    expect(counts).toEqual([...counts].sort((a, b) => b - a))
  })

  it('replays over time counts the occurrences of cross-audience-replay', async () => {
    const replays = (await rowsOf('audtrail-findings')).get('Replays over time')!
    const findings = (await acmeFindings()).filter((f) => f.rule_id === 'cross-audience-replay')
    expect(findings.length).toBeGreaterThan(0)
    const total = replays.reduce((n, r) => n + num(r.replays), 0)
    expect(total).toBe(findings.reduce((n, f) => n + f.count, 0))
    const elsewhere = await run(sqlOf('Replays over time'), 'acme', 60_000, {
      resource: ['https://nowhere.example.com/'],
    })
    expect(elsewhere).toEqual([])
  })

  it('links finding ids and token keys to the console pages, under the console URL variable', async () => {
    const table = panelsOf('audtrail-findings').get('Findings')!
    const linkOf = (column: string) => {
      const o = table.fieldConfig!.overrides!.find(
        (x) => x.matcher.id === 'byName' && x.matcher.options === column,
      )
      return (o?.properties.find((p) => p.id === 'links')?.value as { url: string }[])[0]!.url
    }
    expect(linkOf('finding_id')).toBe('${console_url}/findings/${__value.raw:percentencode}')
    expect(linkOf('token_key')).toBe('${console_url}/tokens/${__value.raw:percentencode}')
    expect(variable('console_url')).toMatchObject({ type: 'textbox' })
    expect(String(variable('console_url').query)).toMatch(/^https?:\/\//)
    const rows = await run(table.targets![0]!.rawSql!, 'acme')
    expect(rows.some((r) => r.token_key === scenario.acme.replayedToken)).toBe(true)
    expect(rows.every((r) => /^[0-9a-f]{32}$/.test(r.finding_id as string))).toBe(true)
  })

  it('colours each severity, the same in every panel that shows severities', () => {
    const colours = (title: string) => {
      const p = panelsOf('audtrail-findings').get(title)!
      const out: Record<string, string> = {}
      for (const o of p.fieldConfig!.overrides!) {
        for (const prop of o.properties) {
          if (prop.id === 'color') {
            const name = o.matcher.options.replace(/^\.\*|\.\*$/g, '')
            out[name] = (prop.value as { fixedColor: string }).fixedColor
          }
          if (prop.id === 'mappings')
            for (const m of prop.value as { options: Record<string, { color: string }> }[])
              for (const [k, v] of Object.entries(m.options)) out[k] = v.color
        }
      }
      return out
    }
    const pie = colours('Findings by severity')
    expect(Object.keys(pie).sort()).toEqual([...SEVERITIES].sort())
    expect(new Set(Object.values(pie)).size).toBe(SEVERITIES.length)
    expect(colours('Findings')).toEqual(pie)
    expect(colours('Finding occurrences by severity')).toEqual(pie)
  })
})

describe('the compliance dashboard and the compliance report thresholds', () => {
  /** The colour Grafana gives a value: the last step whose value it reaches. */
  const colourOf = (steps: { color: string; value: number | null }[], v: number) =>
    steps.filter((s) => s.value === null || v >= s.value).at(-1)!.color
  const PANELS = {
    'Audience-validation coverage': 'aud_validation_coverage',
    'Resource-indicator coverage': 'resource_indicator_coverage',
    'Logging completeness': 'logging_completeness',
    'Token lifetime p50 / p95': 'token_lifetime_p95_s',
    'Accepted audience mismatches': 'accepted_mismatches',
    'Expired tokens accepted': 'expired_tokens_accepted',
    'Bound tokens accepted without proof': 'unproven_bound_presentations',
  } as const

  it.each(Object.entries(PANELS))(
    '%s is green exactly where the report passes',
    (title, metric) => {
      const threshold = DEFAULT_THRESHOLDS[metric]!
      const steps =
        panelsOf('audtrail-compliance').get(title)!.fieldConfig!.defaults!.thresholds!.steps
      const t = threshold.value
      const samples = [
        0,
        0.5,
        0.9,
        0.98,
        0.99,
        0.9899,
        0.999,
        0.9999,
        1,
        2,
        3599,
        3600,
        3600.5,
        3601,
        86_400,
        t,
      ]
      for (const v of samples) {
        const passes = threshold.op === 'min' ? v >= t : v <= t
        expect(colourOf(steps, v) === 'green', `${title} at ${v}`).toBe(passes)
      }
    },
  )
})

describe('the sender-constraint panels of the compliance dashboard (issue 27)', () => {
  type Token = { jti: string; cnf?: unknown }
  const valueOf = (rows: Map<string, Row[]>, title: string, column: string) =>
    num(rows.get(title)![0]![column])
  /** The seeded ground truth: tokens, bound ones, accepted presentations, proven ones. */
  const truth = () => {
    const events = scenario.acme.events.filter((e) => (e.token as Token | undefined) !== undefined)
    const jti = (e: (typeof events)[number]) => (e.token as Token).jti
    const accepted = events.filter(
      (e) => e.event_type === 'token.presented' && e.decision === 'accepted',
    )
    const verdict = (e: (typeof events)[number]) =>
      (e.proof as { verdict?: string } | undefined)?.verdict
    return {
      tokens: new Set(events.map(jti)).size,
      bound_tokens: new Set(events.filter((e) => (e.token as Token).cnf).map(jti)).size,
      presentations: accepted.length,
      proven_presentations: accepted.filter((e) => verdict(e) === 'valid').length,
      unproven_bound_presentations: accepted.filter(
        (e) => (e.token as Token).cnf && verdict(e) !== undefined && verdict(e) !== 'valid',
      ).length,
    }
  }

  it("state the seeded truth and the compliance report's figures", async () => {
    const rows = await rowsOf('audtrail-compliance')
    const want = truth()
    expect(want.bound_tokens).toBeGreaterThan(0)
    expect(want.unproven_bound_presentations).toBeGreaterThan(0)
    const report = await querySenderConstraint(storage, {
      tenant: 'acme',
      since: scenario.from.getTime(),
      until: scenario.to.getTime(),
    })
    expect(report).toMatchObject(want)
    expect({
      share: valueOf(rows, 'Sender-constrained token share', 'sender_constrained_token_share'),
      coverage: valueOf(rows, 'Proof-of-possession coverage', 'proof_of_possession_coverage'),
      unproven: valueOf(
        rows,
        'Bound tokens accepted without proof',
        'unproven_bound_presentations',
      ),
    }).toEqual({
      share: want.bound_tokens / want.tokens,
      coverage: want.proven_presentations / want.presentations,
      unproven: want.unproven_bound_presentations,
    })
    const overTime = rows.get('Sender constraint over time')!
    expect(overTime.some((r) => num(r.sender_constrained_token_share) > 0)).toBe(true)
  })

  it('per client and per resource, state what GET /v1/sender-constraint says', async () => {
    const rows = await rowsOf('audtrail-compliance')
    const api = await senderConstraintCoverage(storage, {
      tenant: 'acme',
      since: scenario.from.getTime(),
      until: scenario.to.getTime(),
    })
    const figures = (r: Record<string, unknown>) => ({
      tokens: num(r.tokens),
      bound_tokens: num(r.bound_tokens),
      presentations: num(r.presentations),
      proven_presentations: num(r.proven_presentations),
    })
    for (const [title, dimension, column] of [
      ['Sender constraint per client', 'client', 'client_id'],
      ['Sender constraint per resource', 'resource', 'resource'],
    ] as const) {
      const panel = new Map(rows.get(title)!.map((r) => [String(r[column]), figures(r)]))
      const expected = new Map(
        api.filter((r) => r.dimension === dimension).map((r) => [r.name, figures({ ...r })]),
      )
      expect(expected.size, title).toBeGreaterThan(0)
      expect(panel, title).toEqual(expected)
    }
  })

  it('list the findings of the sender-constraint rules, open ones counted', async () => {
    const rows = await rowsOf('audtrail-compliance')
    const byRule = rows.get('Sender-constraint findings by rule')!
    expect(byRule).toContainEqual(expect.objectContaining({ rule_id: 'bound-token-downgrade' }))
    const downgrade = byRule.find((r) => r.rule_id === 'bound-token-downgrade')!
    expect(num(downgrade.open)).toBe(1)
    expect(
      byRule.every((r) =>
        [
          'bound-token-downgrade',
          'proof-key-mismatch',
          'dpop-htu-mismatch',
          'dpop-proof-replay',
          'sender-binding-dropped',
        ].includes(r.rule_id as string),
      ),
    ).toBe(true)
    expect(valueOf(rows, 'Open sender-constraint findings', 'open_findings')).toBe(
      byRule.reduce((n, r) => n + num(r.open), 0),
    )
  })

  it('colour the shares as the report rates them: informational, with no default threshold', () => {
    for (const [title, metric] of [
      ['Sender-constrained token share', 'sender_constrained_token_share'],
      ['Proof-of-possession coverage', 'proof_of_possession_coverage'],
    ] as const) {
      expect(DEFAULT_THRESHOLDS[metric], metric).toBeUndefined()
      const steps =
        panelsOf('audtrail-compliance').get(title)!.fieldConfig!.defaults!.thresholds!.steps
      expect(steps.map((s) => s.color)).toEqual(['blue'])
    }
  })
})
