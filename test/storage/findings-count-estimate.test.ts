/**
 * The findings count above its bound (an estimate: stored versions not yet merged counted once
 * each) read as a plain count (findings-count-estimate.sql) answers what it answered as
 * findings-count-untriaged.sql without FINAL, DISTINCT or bound, for every filter of the list
 * but the status (which keeps the triage join and its own SQL), over findings with unmerged
 * versions and another tenant's findings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toDateTime64 } from '../../src/events/event-row.js'
import { findingsListParams } from '../../src/storage/clickhouse-repositories.js'
import { migrate } from '../../src/storage/migrate.js'
import type { FindingRecord, FindingsQuery } from '../../src/storage/repositories.js'
import { loadQuery } from '../../src/storage/sql.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

const DB = 'findings_count_estimate'
const storage = testStorage(DB)
afterAll(closeTestStorages)

const T = 'estimate'
const BASE = Date.UTC(2026, 10, 1)
const MIN = 60_000
const RESOURCES = ['https://mcp-a.example/mcp', 'https://mcp-b.example/mcp']
const id = (i: number) => i.toString(16).padStart(32, '0')

function finding(i: number, v: number, tenant = T): FindingRecord {
  return {
    tenant,
    finding_id: id(i),
    rule_id: ['aud-mismatch-accepted', 'token-replay', 'scope-escalation'][i % 3]!,
    severity: ['low', 'medium', 'high', 'critical'][(i + v) % 4]!,
    title: i % 5 === 0 ? `Token replayed ${i}` : `Finding ${i}`,
    keys: { token_key: `tk-${i % 7}` },
    token_key: `tk-${i % 7}`,
    client_id: i % 6 === 0 ? 'Agent_50%' : `agent-${i % 4}`,
    resource: RESOURCES[i % 2]!,
    evidence: JSON.stringify({ event_ids: [], token_key: `tk-${(i + v) % 7}` }),
    mappings: '{}',
    first_seen: toDateTime64(BASE),
    last_seen: toDateTime64(BASE + ((i * 7) % 13) * MIN + v * MIN),
    count: 1 + v,
    updated_at: toDateTime64(BASE + v * MIN),
    version: v,
  }
}

const N = 30
beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
  // Three inserts, three parts: the versions of the even findings are not merged.
  await storage.findings.write(Array.from({ length: N }, (_, i) => finding(i, 1)))
  await storage.findings.write(Array.from({ length: N / 2 }, (_, i) => finding(2 * i, 2)))
  await storage.findings.write(Array.from({ length: 8 }, (_, i) => finding(i, 1, 'estimate-other')))
})

/** The estimate as it was read before: findings-count-untriaged.sql without FINAL, DISTINCT, bound. */
async function before(q: FindingsQuery): Promise<number> {
  const rs = await storage.client.query({
    query: loadQuery('findings-count-untriaged', DB, { final: '', distinct: '' }),
    query_params: { ...findingsListParams(q), bound: '18446744073709551615' },
    format: 'JSONEachRow',
  })
  const [row] = await rs.json<{ n: string }>()
  return Number(row!.n)
}

const FILTERS: Partial<FindingsQuery>[] = [
  {},
  { id: id(4) },
  { rule: 'token-replay' },
  { rules: ['token-replay', 'scope-escalation'] },
  { severity: 'high' },
  { severities: ['critical', 'low'] },
  { resource: RESOURCES[1] },
  { resources: RESOURCES },
  { client: 'agent-1' },
  { token: 'tk-3' },
  { token: 'tk-3', tokenInEvidence: true },
  { text: 'agent_50%' },
  { text: 'REPLAYED' },
  { since: BASE + 5 * MIN, until: BASE + 11 * MIN },
  { severity: 'medium', client: 'agent-2', text: 'finding' },
]

describe('the findings count above its bound', () => {
  it('estimates as the count it replaced, for every filter but the status', async () => {
    let above = 0
    for (const filter of FILTERS) {
      const q: FindingsQuery = { tenant: T, ...filter }
      // Bound 0: every count that finds a finding is above it, so estimated.
      const got = await storage.findings.count(q, 0)
      const was = await before(q)
      expect([filter, got]).toEqual([filter, { value: was, exact: was === 0 }])
      if (was > 0) above++
    }
    expect(above).toBeGreaterThan(FILTERS.length / 2)
  })

  it('counts the versions not yet merged, and only the tenant', async () => {
    const exact = await storage.findings.count({ tenant: T })
    expect(exact).toEqual({ value: N, exact: true })
    // 30 findings, 15 of them in two versions: 45 stored, unless a merge ran in between.
    const estimate = await storage.findings.count({ tenant: T }, N - 1)
    expect(estimate.exact).toBe(false)
    expect(estimate.value).toBeGreaterThanOrEqual(N)
    expect(estimate.value).toBeLessThanOrEqual(N + N / 2)
    expect(await storage.findings.count({ tenant: 'estimate-other' }, 0)).toEqual({
      value: 8,
      exact: false,
    })
  })
})
