/**
 * One set of expectations run against both implementations of the repositories: ClickHouse (the
 * embedded engine, migrated) and memory. Each test writes under a tenant of its own.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toDateTime64, type EventRow } from '../../src/events/event-row.js'
import { encodeEvents, type EventIdentities } from '../../src/storage/events-store.js'
import { createMemoryRepositories } from '../../src/storage/memory-repositories.js'
import { migrate } from '../../src/storage/migrate.js'
import {
  findingSortKey,
  type FindingOccurrence,
  type FindingRecord,
  type FindingSortField,
  type FindingSortKey,
  type FindingsQuery,
  type Repositories,
} from '../../src/storage/repositories.js'
import { presentedRow } from '../helpers/events.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

const clickhouse = testStorage('repo_contract')
beforeAll(() => migrate(clickhouse, { retention: RETENTION }))
afterAll(closeTestStorages)

let tenants = 0
const newTenant = () => `contract-${++tenants}-${randomUUID().slice(0, 8)}`
const MINUTE = 60_000
/** Ten minutes ago, on a whole second: the events of a test occur from here on. */
const BASE = Math.floor((Date.now() - 10 * MINUTE) / 1000) * 1000
const at = (ms: number) => new Date(ms).toISOString()

function row(tenant: string, offsetS: number, overrides: Record<string, unknown> = {}): EventRow {
  return presentedRow({ tenant, occurred_at: at(BASE + offsetS * 1000), ...overrides })
}

function finding(tenant: string, id: string, over: Partial<FindingRecord> = {}): FindingRecord {
  return {
    tenant,
    finding_id: id,
    rule_id: 'aud-mismatch-accepted',
    severity: 'high',
    title: 'Audience mismatch accepted',
    keys: { token_key: 'tk-1', client_id: 'agent-7' },
    token_key: 'tk-1',
    client_id: 'agent-7',
    resource: 'https://mcp.example.com/mcp',
    evidence: '{"event_ids":[]}',
    mappings: '{}',
    first_seen: toDateTime64(BASE),
    last_seen: toDateTime64(BASE + MINUTE),
    count: 1,
    updated_at: toDateTime64(BASE),
    version: 1,
    ...over,
  }
}

const occurrence = (
  tenant: string,
  findingId: string,
  id: string,
  offsetS: number,
  severity = 'medium',
): FindingOccurrence => ({
  tenant,
  finding_id: findingId,
  occurrence_id: id,
  severity,
  at: toDateTime64(BASE + offsetS * 1000),
})

const hex32 = () => randomUUID().replaceAll('-', '')
const ids = (rows: readonly { event_id: string }[]) => rows.map((r) => r.event_id)

const implementations: [string, () => Repositories][] = [
  ['clickhouse', () => clickhouse],
  ['memory', () => createMemoryRepositories()],
]

describe.each(implementations)('the %s repositories', (_, make) => {
  let repos: Repositories
  beforeAll(() => {
    repos = make()
  })

  describe('events', () => {
    it('read back an event by id within its tenant only', async () => {
      const tenant = newTenant()
      const r = row(tenant, 1)
      await repos.events.insert([r])
      const back = await repos.events.byId(tenant, r.event_id)
      expect(back?.event_id).toBe(r.event_id)
      expect(back?.occurred_at).toBe(r.occurred_at)
      expect(back?.presented_aud).toEqual(r.presented_aud)
      expect(await repos.events.byId(newTenant(), r.event_id)).toBeUndefined()
    })

    it('search newest first, by filter, from a cursor, within the window', async () => {
      const tenant = newTenant()
      const rows = [
        row(tenant, 1, { client_id: 'a' }),
        row(tenant, 2, { client_id: 'b' }),
        row(tenant, 3, { client_id: 'a', decision: 'rejected', reason: 'aud_mismatch' }),
        row(tenant, 4, { client_id: 'a' }),
      ]
      await repos.events.insert(rows)
      await repos.events.insert([row(newTenant(), 2)])
      const all = await repos.events.search({ tenant, fetch: 10 })
      expect(ids(all)).toEqual(ids(rows).reverse())
      const a = await repos.events.search({ tenant, client: 'a', fetch: 10 })
      expect(ids(a)).toEqual(ids([rows[3]!, rows[2]!, rows[0]!]))
      const rejected = await repos.events.search({ tenant, decision: 'rejected', fetch: 10 })
      expect(ids(rejected)).toEqual([rows[2]!.event_id])
      const page = await repos.events.search({ tenant, fetch: 2 })
      expect(ids(page)).toEqual(ids([rows[3]!, rows[2]!]))
      const next = await repos.events.search({
        tenant,
        fetch: 10,
        after: { at: page[1]!.occurred_at, id: page[1]!.event_id },
      })
      expect(ids(next)).toEqual(ids([rows[1]!, rows[0]!]))
      const window = await repos.events.search({
        tenant,
        since: BASE + 2000,
        until: BASE + 4000,
        fetch: 10,
      })
      expect(ids(window)).toEqual(ids([rows[2]!, rows[1]!]))
      const byResource = await repos.events.search({
        tenant,
        resource: 'https://mcp.example.com/mcp',
        fetch: 10,
      })
      expect(byResource).toHaveLength(4)
      expect(
        await repos.events.search({ tenant, resource: 'https://x.example', fetch: 10 }),
      ).toEqual([])
    })

    it("list a token's events oldest first, within its tenant only", async () => {
      const tenant = newTenant()
      const first = row(tenant, 5)
      const second = row(tenant, 7, { token: { jti: first.token_jti } })
      const other = row(tenant, 6)
      await repos.events.insert([second, other, first])
      const timeline = await repos.events.ofToken(tenant, first.token_key)
      expect(ids(timeline)).toEqual(ids([first, second]))
      expect(await repos.events.ofToken(newTenant(), first.token_key)).toEqual([])
    })

    it("page a token's presentations, summarise them and list its lifecycle apart", async () => {
      const tenant = newTenant()
      const jti = `tk-${randomUUID()}`
      const presented = [5, 6, 7].map((s, i) =>
        row(tenant, s, {
          token: { jti },
          decision: i === 2 ? 'rejected' : 'accepted',
          reason: i === 2 ? 'expired' : 'ok',
        }),
      )
      const issued = presentedRow({
        tenant,
        event_type: 'token.issued',
        occurred_at: at(BASE + 1000),
        source: { kind: 'authorization_server', id: 'as-1' },
        token: { jti },
        grant_type: 'authorization_code',
        requested_resources: ['https://mcp.example.com/mcp'],
        granted_aud: ['https://mcp.example.com/mcp'],
        requested_scopes: ['files:read'],
        granted_scopes: ['files:read'],
        resource: undefined,
        presented_aud: undefined,
        aud_validated: undefined,
        decision: undefined,
        reason: undefined,
        tool: undefined,
        http: undefined,
      })
      await repos.events.insert([...presented, issued, row(tenant, 8)])
      const key = presented[0]!.token_key
      const first = await repos.events.tokenPresentations(tenant, key, undefined, 2)
      expect(ids(first)).toEqual(ids(presented.slice(0, 2)))
      const last = first[1]!
      const rest = await repos.events.tokenPresentations(
        tenant,
        key,
        { at: last.occurred_at, id: last.event_id },
        2,
      )
      expect(ids(rest)).toEqual(ids(presented.slice(2)))
      expect(await repos.events.tokenSummary(tenant, key, 10)).toEqual([
        {
          resource: 'https://mcp.example.com/mcp',
          decision: 'accepted',
          count: 2,
          first_seen: presented[0]!.occurred_at,
          last_seen: presented[1]!.occurred_at,
        },
        {
          resource: 'https://mcp.example.com/mcp',
          decision: 'rejected',
          count: 1,
          first_seen: presented[2]!.occurred_at,
          last_seen: presented[2]!.occurred_at,
        },
      ])
      expect(await repos.events.tokenSummary(tenant, key, 1)).toHaveLength(1)
      expect(ids(await repos.events.tokenLifecycle(tenant, key, 10))).toEqual(ids([issued]))
      // Both in one read: the same answers, each with its own limit.
      const once = await repos.events.tokenTimelineEvents(tenant, key, undefined, 2, 10)
      expect(ids(once.presented)).toEqual(ids(presented.slice(0, 2)))
      expect(ids(once.lifecycle)).toEqual(ids([issued]))
      const later = await repos.events.tokenTimelineEvents(
        tenant,
        key,
        { at: last.occurred_at, id: last.event_id },
        2,
        10,
      )
      expect(ids(later.presented)).toEqual(ids(presented.slice(2)))
      expect(ids(later.lifecycle)).toEqual(ids([issued]))
      const capped = await repos.events.tokenTimelineEvents(tenant, key, undefined, 1, 0)
      expect([ids(capped.presented), capped.lifecycle]).toEqual([ids(presented.slice(0, 1)), []])
      expect(await repos.events.tokenPresentations(newTenant(), key, undefined, 5)).toEqual([])
      expect(await repos.events.tokenSummary(newTenant(), key, 5)).toEqual([])
    })

    it('tell which ids are stored in which tenant, whatever their time, and page them all', async () => {
      const tenant = newTenant()
      const rows = [row(tenant, 10), row(tenant, 20)]
      await repos.events.insert(rows)
      const unknown = randomUUID()
      const found = await repos.events.existingIds([tenant], [...ids(rows), unknown])
      expect(found).toHaveLength(2)
      expect(found).toEqual(expect.arrayContaining(rows.map((r) => ({ tenant, id: r.event_id }))))
      expect(await repos.events.existingIds([newTenant()], ids(rows))).toEqual([])
      expect(await repos.events.existingIds([tenant], [])).toEqual([])
      const stored = await repos.events.storedIdCount()
      expect(stored).toBeGreaterThanOrEqual(2)
      const pages = await Promise.all([0, 1, 2].map((part) => repos.events.storedIds(3, part)))
      const all = pages.flat()
      expect(all).toHaveLength(stored)
      for (const r of rows) {
        const holding = pages.filter((p) => p.some(([t, id]) => t === tenant && id === r.event_id))
        expect(holding).toHaveLength(1)
      }
    })

    it('give the recent events with a token, oldest first, only the token-state columns', async () => {
      const tenant = newTenant()
      const rows = [row(tenant, 30), row(tenant, 31)]
      await repos.events.insert(rows)
      const recent: EventRow[] = []
      for await (const batch of repos.events.recentTokenEvents(Date.now() - MINUTE, 1_000_000))
        recent.push(...(batch as EventRow[]))
      const mine = recent.filter((r) => r.tenant === tenant)
      expect(ids(mine)).toEqual(ids(rows))
      expect(Object.keys(mine[0]!).sort()).toEqual(
        [
          'tenant',
          'token_key',
          'event_id',
          'event_type',
          'occurred_at',
          'client_id',
          'decision',
          'token_exp',
          'token_aud_canonical',
          'granted_aud_canonical',
          'presented_aud_canonical',
          'resource_canonical',
          'network_ip',
          'network_user_agent',
          'token_scopes',
          'granted_scopes',
          'subject_token_key',
          'attributes',
          'proof_jti',
          'source_id',
        ].sort(),
      )
    })

    it('insert an encoded batch, or some of its lines, telling observers first', async () => {
      const tenant = newTenant()
      const rows = [row(tenant, 40), row(tenant, 41), row(tenant, 42)]
      const seen: string[] = []
      repos.events.observeInserts((events: EventIdentities, lines) => {
        for (const i of lines ?? events.eventIds.keys())
          if (events.tenants[i] === tenant) seen.push(events.eventIds[i]!)
      })
      const insert = repos.events.prepareInsert(encodeEvents(rows), [2, 0], {
        dedupToken: `contract-${tenant}`,
      })
      expect(insert).toBeDefined()
      await repos.events.sendInsert(insert!)
      expect(ids(await repos.events.search({ tenant, fetch: 10 }))).toEqual(
        ids([rows[2]!, rows[0]!]),
      )
      expect(repos.events.prepareInsert(encodeEvents(rows), [])).toBeUndefined()
      // The embedded engine and memory tell observers; a server has other writers.
      if (repos !== clickhouse || clickhouse.mode === 'embedded')
        expect(seen).toEqual(ids([rows[2]!, rows[0]!]))
    })
  })

  describe('findings', () => {
    it('aggregate occurrences: each once, first and last, the highest severity', async () => {
      const tenant = newTenant()
      const [f1, f2] = [hex32(), hex32()]
      await repos.findings.addOccurrences([
        occurrence(tenant, f1, 'e1', 5, 'medium'),
        occurrence(tenant, f1, 'e2', 1, 'critical'),
        occurrence(tenant, f1, 'e1', 5, 'medium'),
        occurrence(tenant, f2, 'e3', 9, 'low'),
      ])
      const found = await repos.findings.aggregates([f1, f2, hex32()])
      expect(found.sort((a, b) => (a.finding_id < b.finding_id ? -1 : 1))).toEqual(
        [
          {
            tenant,
            finding_id: f1,
            count: 2,
            first_seen: toDateTime64(BASE + 1000),
            last_seen: toDateTime64(BASE + 5000),
            severity_rank: 4,
          },
          {
            tenant,
            finding_id: f2,
            count: 1,
            first_seen: toDateTime64(BASE + 9000),
            last_seen: toDateTime64(BASE + 9000),
            severity_rank: 1,
          },
        ].sort((a, b) => (a.finding_id < b.finding_id ? -1 : 1)),
      )
      expect(await repos.findings.aggregates([])).toEqual([])
    })

    it('list newest first with the latest version, filters, triage status and a cursor', async () => {
      const tenant = newTenant()
      const [a, b, c] = [hex32(), hex32(), hex32()]
      await repos.findings.write([
        finding(tenant, a, { last_seen: toDateTime64(BASE + 1000) }),
        finding(tenant, b, { last_seen: toDateTime64(BASE + 2000), rule_id: 'other-rule' }),
        finding(tenant, c, { last_seen: toDateTime64(BASE + 3000), token_key: 'tk-2' }),
      ])
      await repos.findings.write([
        finding(tenant, a, { last_seen: toDateTime64(BASE + 4000), count: 5, version: 2 }),
      ])
      await repos.findings.write([finding(tenant, a, { count: 99, version: 1 })])
      const all = await repos.findings.list({ tenant, limit: 10 })
      expect(all.map((f) => [f.id, f.count, f.status])).toEqual([
        [a, 5, 'open'],
        [c, 1, 'open'],
        [b, 1, 'open'],
      ])
      expect(all[0]).toMatchObject({ tenant, note: '', assignee: '', keys: { token_key: 'tk-1' } })
      expect((await repos.findings.list({ tenant, rule: 'other-rule', limit: 10 })).length).toBe(1)
      expect((await repos.findings.list({ tenant, token: 'tk-2', limit: 10 }))[0]?.id).toBe(c)
      expect(await repos.findings.list({ tenant })).toHaveLength(1)
      const page2 = await repos.findings.list({
        tenant,
        limit: 10,
        after: { seen: all[0]!.last_seen, id: all[0]!.id },
      })
      expect(page2.map((f) => f.id)).toEqual([c, b])
      expect(
        (await repos.findings.list({ tenant, since: BASE + 2500, limit: 10 })).map((f) => f.id),
      ).toEqual([a, c])

      await repos.findings.triage({
        tenant,
        finding_id: b,
        status: 'acknowledged',
        note: 'looking',
        assignee: 'sam',
        updated_at: toDateTime64(BASE + 5000),
        updated_by: 'analyst',
        version: 1,
      })
      // Resolved before its last occurrence: open again.
      await repos.findings.triage({
        tenant,
        finding_id: a,
        status: 'resolved',
        note: '',
        assignee: '',
        updated_at: toDateTime64(BASE + 3500),
        updated_by: 'analyst',
        version: 1,
      })
      const acknowledged = await repos.findings.list({ tenant, status: 'acknowledged', limit: 10 })
      expect(acknowledged.map((f) => [f.id, f.note, f.assignee])).toEqual([[b, 'looking', 'sam']])
      expect((await repos.findings.list({ tenant, status: 'open', limit: 10 })).length).toBe(2)
      expect(await repos.findings.status(tenant, b)).toMatchObject({
        finding_id: b,
        status: 'acknowledged',
        note: 'looking',
        count: 1,
      })
      expect(await repos.findings.status(newTenant(), b)).toBeUndefined()
      expect(await repos.findings.list({ tenant: newTenant(), limit: 10 })).toEqual([])
      expect(await repos.findings.tokenHasFindings(tenant, 'tk-2')).toBe(true)
      expect(await repos.findings.tokenHasFindings(tenant, 'tk-none')).toBe(false)
    })
    it('list in every sort with a keyset cursor, filter by lists and text, and count', async () => {
      const tenant = newTenant()
      const [a, b, c, d] = [hex32(), hex32(), hex32(), hex32()]
      await repos.findings.write([
        finding(tenant, a, { severity: 'low', count: 9, last_seen: toDateTime64(BASE + 4000) }),
        finding(tenant, b, {
          severity: 'critical',
          count: 2,
          last_seen: toDateTime64(BASE + 1000),
        }),
        finding(tenant, c, {
          severity: 'critical',
          count: 2,
          first_seen: toDateTime64(BASE - 5000),
          last_seen: toDateTime64(BASE + 3000),
          client_id: 'Agent_50%',
          title: 'Token replayed elsewhere',
        }),
        finding(tenant, d, {
          severity: 'high',
          count: 5,
          last_seen: toDateTime64(BASE + 2000),
          resource: 'https://b.example/mcp',
          token_key: 'tk-9',
          evidence: JSON.stringify({ event_ids: [], token_key: 'tk-named' }),
        }),
      ])
      const order = async (field: FindingSortField, descending: boolean) => {
        const sort = { field, descending }
        const whole = (await repos.findings.list({ tenant, sort, limit: 10 })).map((f) => f.id)
        // Page by page with the cursor of the last row: the same order.
        const paged: string[] = []
        let cursor: FindingSortKey | undefined
        for (;;) {
          const page = await repos.findings.list({ tenant, sort, cursor, limit: 1 })
          if (page.length === 0) break
          paged.push(page[0]!.id)
          cursor = findingSortKey(page[0]!, sort)
        }
        expect(paged).toEqual(whole)
        return whole
      }
      expect(await order('last_seen', true)).toEqual([a, c, d, b])
      expect(await order('last_seen', false)).toEqual([b, d, c, a])
      expect((await order('first_seen', false))[0]).toBe(c)
      // Equal severity: newest last_seen first (descending), oldest first (ascending).
      expect(await order('severity', true)).toEqual([c, b, d, a])
      expect(await order('severity', false)).toEqual([a, d, b, c])
      expect(await order('count', true)).toEqual([a, d, c, b])
      expect(await order('count', false)).toEqual([b, c, d, a])

      const some = async (q: Partial<FindingsQuery>) =>
        (await repos.findings.list({ tenant, limit: 10, ...q })).map((f) => f.id).sort()
      expect(await some({ severities: ['critical', 'high'] })).toEqual([b, c, d].sort())
      expect(await some({ severities: ['low'], severity: 'high' })).toEqual([a, d].sort())
      expect(await some({ statuses: ['acknowledged'] })).toEqual([])
      expect(await some({ statuses: ['open', 'acknowledged'] })).toHaveLength(4)
      expect(await some({ resources: ['https://b.example/mcp', 'HTTPS://B.example/mcp'] })).toEqual(
        [d],
      )
      expect(await some({ text: 'agent_50%' })).toEqual([c])
      expect(await some({ text: 'REPLAYED' })).toEqual([c])
      expect(await some({ text: 'TK-9' })).toEqual([d])
      expect(await some({ text: '%' })).toEqual([c])
      // Unescaped, `_` would match any character: `agent_50` would be found.
      expect(await some({ text: 'agen__50' })).toEqual([])
      expect(await some({ token: 'tk-named' })).toEqual([])
      expect(await some({ token: 'tk-named', tokenInEvidence: true })).toEqual([d])
      expect(await repos.findings.tokenHasFindings(tenant, 'tk-named')).toBe(true)

      expect(await repos.findings.count({ tenant })).toEqual({ value: 4, exact: true })
      expect(await repos.findings.count({ tenant, severities: ['critical'] })).toEqual({
        value: 2,
        exact: true,
      })
      // Above the bound: flagged as estimated.
      expect(await repos.findings.count({ tenant }, 3)).toEqual({ value: 4, exact: false })
      expect(await repos.findings.count({ tenant: newTenant() })).toEqual({ value: 0, exact: true })
    })

    it('counts each finding once, by its latest version, whichever way the count is made', async () => {
      const tenant = newTenant()
      const [a, b, c] = [hex32(), hex32(), hex32()]
      // a: three versions not merged, its severity raised and its evidence changed by the last;
      // b: one version of another rule; c: one version, resolved by an analyst.
      await repos.findings.write([finding(tenant, a, { severity: 'low', version: 1 })])
      await repos.findings.write([
        finding(tenant, a, {
          severity: 'medium',
          last_seen: toDateTime64(BASE + 2000),
          version: 2,
        }),
      ])
      await repos.findings.write([
        finding(tenant, a, {
          severity: 'critical',
          evidence: '{"event_ids":[],"named":"tk-late"}',
          last_seen: toDateTime64(BASE + 3000),
          version: 3,
        }),
        finding(tenant, b, { rule_id: 'other-rule', version: 1 }),
        finding(tenant, c, { version: 1 }),
      ])
      await repos.findings.triage({
        tenant,
        finding_id: c,
        status: 'resolved',
        note: '',
        assignee: '',
        updated_at: toDateTime64(BASE + 9 * MINUTE),
        updated_by: 'analyst',
        version: 1,
      })
      const count = async (q: Omit<FindingsQuery, 'tenant'>) =>
        (await repos.findings.count({ tenant, ...q })).value
      const listed = async (q: Omit<FindingsQuery, 'tenant'>) =>
        (await repos.findings.list({ tenant, ...q, limit: 100 })).length
      const queries: Omit<FindingsQuery, 'tenant'>[] = [
        {},
        { rules: ['aud-mismatch-accepted'] },
        { rules: ['aud-mismatch-accepted', 'other-rule'] },
        { id: a },
        { severities: ['low'] },
        { severities: ['critical'] },
        { token: 'tk-late', tokenInEvidence: true },
        { since: BASE + 2500 },
        { until: BASE + 2500 },
        { statuses: ['open'] },
        { statuses: ['resolved'], rules: ['aud-mismatch-accepted'] },
      ]
      // Every count is the number of findings the list shows for the same filters.
      for (const q of queries) expect([q, await count(q)]).toEqual([q, await listed(q)])
      expect(await count({})).toBe(3)
      expect(await count({ rules: ['aud-mismatch-accepted'] })).toBe(2)
      expect(await count({ severities: ['low'] })).toBe(0)
      expect(await count({ token: 'tk-late', tokenInEvidence: true })).toBe(1)
      expect(await count({ statuses: ['resolved'] })).toBe(1)
      // Above the bound: the versions not merged may be counted, and the count says so.
      const above = await repos.findings.count({ tenant }, 2)
      expect(above.exact).toBe(false)
      expect(above.value).toBeGreaterThanOrEqual(3)
    })
  })

  describe('triage history', () => {
    it('stores triage versions and their changes per tenant, oldest first, once each', async () => {
      const [tenant, other] = [newTenant(), newTenant()]
      const id = hex32()
      await repos.findings.write([finding(tenant, id), finding(other, id)])
      const version = (by: string, atMs: number, status: string) => ({
        tenant,
        finding_id: id,
        status,
        note: '',
        assignee: '',
        updated_at: toDateTime64(atMs),
        updated_by: by,
        version: atMs,
      })
      const change = (by: string, atMs: number, from: string, to: string) => ({
        tenant,
        finding_id: id,
        change_id: randomUUID(),
        at: toDateTime64(atMs),
        by,
        field: 'status' as const,
        from_value: from,
        to_value: to,
      })
      const second = change('bob', BASE + 3 * MINUTE, 'acknowledged', 'resolved')
      await repos.triageHistory.write(
        [version('alice', BASE + 2 * MINUTE, 'acknowledged')],
        [change('alice', BASE + 2 * MINUTE, 'open', 'acknowledged')],
      )
      await repos.triageHistory.write([version('bob', BASE + 3 * MINUTE, 'resolved')], [second])
      // The same change again (a retried insert) is stored once.
      await repos.triageHistory.write([], [second])
      expect(await repos.triageHistory.ofFinding(tenant, id)).toEqual([
        {
          at: toDateTime64(BASE + 2 * MINUTE),
          by: 'alice',
          field: 'status',
          from_value: 'open',
          to_value: 'acknowledged',
        },
        {
          at: toDateTime64(BASE + 3 * MINUTE),
          by: 'bob',
          field: 'status',
          from_value: 'acknowledged',
          to_value: 'resolved',
        },
      ])
      expect(await repos.triageHistory.latest(tenant, [id, hex32()])).toEqual([
        { finding_id: id, updated_by: 'bob', updated_at: toDateTime64(BASE + 3 * MINUTE) },
      ])
      expect(await repos.triageHistory.ofFinding(other, id)).toEqual([])
      expect(await repos.triageHistory.latest(other, [id])).toEqual([])
      const [listed] = await repos.findings.list({ tenant, id })
      expect(listed).toMatchObject({ status: 'resolved' })
    })
  })

  describe('exceptions', () => {
    it('list and match exceptions in force; a deleted version withdraws one', async () => {
      const tenant = newTenant()
      const base = {
        tenant,
        rule_id: '*',
        match: { client_id: 'agent-7' },
        owner: 'iam',
        reason: 'known',
        deleted: false,
        version: 1,
      }
      const [live, expired] = [randomUUID(), randomUUID()]
      await repos.exceptions.write({
        ...base,
        exception_id: live,
        created_at: toDateTime64(BASE + 1000),
        expires_at: toDateTime64(Date.now() + 3_600_000),
      })
      await repos.exceptions.write({
        ...base,
        exception_id: expired,
        created_at: toDateTime64(BASE + 2000),
        expires_at: toDateTime64(Date.now() - 1000),
      })
      const listed = await repos.exceptions.list(tenant)
      expect(listed.map((e) => [e.id, e.active])).toEqual([
        [expired, false],
        [live, true],
      ])
      expect((await repos.exceptions.list(tenant, live)).map((e) => e.id)).toEqual([live])
      const active = (await repos.exceptions.active()).filter((e) => e.tenant === tenant)
      expect(active.map((e) => e.exception_id)).toEqual([live])
      expect(active[0]).toEqual({
        tenant,
        exception_id: live,
        rule_id: '*',
        match: { client_id: 'agent-7' },
        owner: 'iam',
        reason: 'known',
        created_at: toDateTime64(BASE + 1000),
        expires_at: active[0]!.expires_at,
      })
      await repos.exceptions.write({
        ...base,
        exception_id: live,
        created_at: toDateTime64(BASE + 1000),
        expires_at: active[0]!.expires_at,
        deleted: true,
        version: 2,
      })
      expect((await repos.exceptions.active()).filter((e) => e.tenant === tenant)).toEqual([])
      expect((await repos.exceptions.list(tenant)).map((e) => e.id)).toEqual([expired])
    })
  })

  describe('outbox', () => {
    it('gives due undelivered alerts oldest first; a delivered version leaves the queue', async () => {
      const tenant = newTenant()
      const alert = (id: string, createdS: number, next: number) => ({
        tenant,
        alert_id: id,
        channel: 'webhook',
        finding_id: 'f',
        payload: '{}',
        created_at: toDateTime64(BASE + createdS * 1000),
        attempts: 0,
        next_attempt_at: toDateTime64(next),
        delivered: false,
        last_error: '',
        version: 0,
      })
      const [a, b, later] = [hex32(), hex32(), hex32()]
      await repos.outbox.write([
        alert(b, 2, Date.now() - 1000),
        alert(a, 1, Date.now() - 1000),
        alert(later, 0, Date.now() + 3_600_000),
      ])
      const mine = async () =>
        (await repos.outbox.due(10_000)).filter((d) => d.tenant === tenant).map((d) => d.alert_id)
      expect(await mine()).toEqual([a, b])
      const [first] = (await repos.outbox.due(10_000)).filter((d) => d.alert_id === a)
      expect(first).toEqual({
        tenant,
        alert_id: a,
        channel: 'webhook',
        finding_id: 'f',
        payload: '{}',
        created_at: toDateTime64(BASE + 1000),
        attempts: 0,
      })
      await repos.outbox.write([{ ...alert(a, 1, Date.now()), delivered: true, version: 5 }])
      // Enqueued again in the same window (version 0): the delivered version stays.
      await repos.outbox.write([alert(a, 1, Date.now() - 1000)])
      expect(await mine()).toEqual([b])
    })
  })

  describe('reports and catalog', () => {
    it('count and list the findings that occurred in the period, with their status', async () => {
      const tenant = newTenant()
      const [a, b, outside] = [hex32(), hex32(), hex32()]
      await repos.findings.write([
        finding(tenant, a, { severity: 'critical', rule_id: 'r-a' }),
        finding(tenant, b, { severity: 'low', rule_id: 'r-b', client_id: 'agent-9' }),
        finding(tenant, outside, { rule_id: 'r-a' }),
      ])
      await repos.findings.addOccurrences([
        occurrence(tenant, a, 'x1', 10),
        occurrence(tenant, a, 'x2', 20),
        occurrence(tenant, b, 'x3', 15),
        occurrence(tenant, outside, 'x4', 500),
      ])
      await repos.findings.triage({
        tenant,
        finding_id: b,
        status: 'false_positive',
        note: '',
        assignee: '',
        updated_at: toDateTime64(Date.now()),
        updated_by: 'a',
        version: 1,
      })
      const scope = { tenant, since: BASE, until: BASE + 100_000 }
      expect(await repos.reports.findingCounts(scope)).toEqual([
        { rule_id: 'r-a', severity: 'critical', status: 'open', findings: 1, occurrences: 2 },
        { rule_id: 'r-b', severity: 'low', status: 'false_positive', findings: 1, occurrences: 1 },
      ])
      const listed = await repos.reports.findings(scope, 10)
      expect(listed.map((f) => [f.id, f.status, f.period_occurrences])).toEqual([
        [a, 'open', 2],
        [b, 'false_positive', 1],
      ])
      expect(listed[0]).toMatchObject({
        period_first_seen: toDateTime64(BASE + 10_000),
        period_last_seen: toDateTime64(BASE + 20_000),
        keys: { token_key: 'tk-1', client_id: 'agent-7' },
      })
      expect(await repos.reports.findings(scope, 1)).toHaveLength(1)

      const perClient = await repos.catalog.clientFindings(tenant, BASE, ['agent-7', 'agent-9'])
      expect(perClient.sort((x, y) => (x.client_id < y.client_id ? -1 : 1))).toEqual([
        { client_id: 'agent-7', findings: 2, open_findings: 2 },
        { client_id: 'agent-9', findings: 1, open_findings: 0 },
      ])
      expect(await repos.catalog.clientFindings(tenant, BASE, [])).toEqual([])
    })
  })

  describe('detection state', () => {
    it('keeps the latest watermark of each rule', async () => {
      const rule = `rule-${newTenant()}`
      expect(await repos.detection.watermark(rule)).toBeUndefined()
      await repos.detection.setWatermark(rule, BASE + 1234)
      await new Promise((r) => setTimeout(r, 5))
      await repos.detection.setWatermark(rule, BASE + 5678)
      expect(await repos.detection.watermark(rule)).toBe(BASE + 5678)
      expect(await repos.ping()).toBe(true)
    })
  })
})

describe('the memory repositories alone', () => {
  it('fail every call while unavailable, as an outage (retriable)', async () => {
    const memory = createMemoryRepositories()
    memory.available = false
    await expect(memory.findings.list({ tenant: 't' })).rejects.toMatchObject({
      code: 'ERR_SINK_UNAVAILABLE',
      retriable: true,
    })
    expect(await memory.ping()).toBe(false)
  })

  it('say which queries they do not double, and run a rule only on the rows a test gives', async () => {
    const memory = createMemoryRepositories()
    const scope = { tenant: 't', since: 0, until: 1 }
    await expect(
      memory.reports.tokenMetrics(scope, { clockSkewS: 0, maxRepeated: 1 }),
    ).rejects.toThrow(/report-token-metrics has no in-memory double/)
    await expect(memory.catalog.resources({ tenant: 't', since: 0, limit: 1 })).rejects.toThrow(
      /resource-inventory/,
    )
    await expect(memory.detection.runRule('resource-uri-drift', {}, 'a', 'b')).rejects.toThrow(
      /sql\/rules\/resource-uri-drift\.sql/,
    )
    memory.rules.set('resource-uri-drift', (params, from, to) => [{ params, from, to }])
    expect(await memory.detection.runRule('resource-uri-drift', { n: 1 }, 'a', 'b')).toEqual([
      { params: { n: 1 }, from: 'a', to: 'b' },
    ])
  })
})
