/**
 * The scheduled rules' own code, without ClickHouse: the parameters each hands its query (every
 * `{name:Type}` placeholder of its SQL file supplied, nothing else, in the unit the query reads)
 * and the detection each makes of a result row (mutation runs, docs/design/mutation.md). The
 * queries themselves run on chdb in rules.test.ts.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { ScheduledRule } from '../../src/detection/rule.js'
import { clientIdMultipleIssuers } from '../../src/detection/rules/client-id-multiple-issuers.js'
import { RULES } from '../../src/detection/rules/index.js'
import { newResourceForClient } from '../../src/detection/rules/new-resource-for-client.js'
import { resourceUriDrift } from '../../src/detection/rules/resource-uri-drift.js'
import { senderBindingDropped } from '../../src/detection/rules/sender-binding-dropped.js'
import { parseResourceRegistry } from '../../src/resource-registry.js'

const SCHEDULED = RULES.filter((r): r is ScheduledRule => r.kind === 'scheduled')
const DAY_S = 86_400

/** The placeholders of a rule's SQL file: name -> ClickHouse type. */
function placeholders(rule: ScheduledRule): Map<string, string> {
  const sql = readFileSync(new URL(`../../sql/rules/${rule.sql}.sql`, import.meta.url), 'utf8')
  return new Map([...sql.matchAll(/\{([a-z0-9_]+):([A-Za-z0-9]+)\}/g)].map((m) => [m[1]!, m[2]!]))
}

describe('scheduled rules: query parameters', () => {
  it('are the six scheduled rules', () => {
    expect(SCHEDULED.map((r) => r.id).sort()).toEqual([
      'client-id-multiple-issuers',
      'new-resource-for-client',
      'resource-uri-drift',
      'sender-binding-dropped',
      'token-multi-source',
      'token-usage-spike',
    ])
  })

  for (const rule of SCHEDULED)
    it(`${rule.id}: supplies exactly its query's placeholders, each a value of its type`, () => {
      const wanted = placeholders(rule)
      const given = rule.queryParams(rule.params.parse({}))
      expect(Object.keys(given).sort()).toEqual([...wanted.keys()].sort())
      for (const [name, type] of wanted) {
        const v = given[name]
        expect(typeof v, name).toBe('number')
        expect(Number.isFinite(v), name).toBe(true)
        if (type.startsWith('UInt')) {
          expect(Number.isInteger(v), `${name} ${String(v)}`).toBe(true)
          expect(v as number, name).toBeGreaterThanOrEqual(0)
        }
      }
    })

  it('client-id-multiple-issuers: days in seconds, its switches as 0 or 1', () => {
    const p = clientIdMultipleIssuers.params.parse({})
    expect(p).toMatchObject({ ignoreUrlClientIds: true, includePresentations: false })
    expect(clientIdMultipleIssuers.queryParams(p)).toEqual({
      lookback_s: 30 * DAY_S,
      ignore_url_client_ids: 1,
      include_presented: 0,
      max_results: 1000,
    })
    expect(
      clientIdMultipleIssuers.queryParams(
        clientIdMultipleIssuers.params.parse({
          lookbackDays: 2,
          ignoreUrlClientIds: false,
          includePresentations: true,
          maxResults: 5,
        }),
      ),
    ).toEqual({
      lookback_s: 2 * DAY_S,
      ignore_url_client_ids: 0,
      include_presented: 1,
      max_results: 5,
    })
  })

  it('new-resource-for-client: the baseline and the lookback in seconds', () => {
    const p = newResourceForClient.params.parse({ baselineDays: 1.5, lookbackDays: 3 })
    expect(newResourceForClient.queryParams(p)).toMatchObject({
      baseline_s: Math.round(1.5 * DAY_S),
      lookback_s: 3 * DAY_S,
      min_baseline_events: p.minBaselineEvents,
      max_results: p.maxResults,
    })
  })

  it('resource-uri-drift and sender-binding-dropped: days in seconds, their minimums', () => {
    const d = resourceUriDrift.params.parse({ lookbackDays: 4, minSpellings: 3 })
    expect(resourceUriDrift.queryParams(d)).toEqual({
      lookback_s: 4 * DAY_S,
      min_spellings: 3,
      max_results: d.maxResults,
    })
    const s = senderBindingDropped.params.parse({ lookbackDays: 5, minBoundTokens: 7 })
    expect(senderBindingDropped.queryParams(s)).toEqual({
      min_bound: 7,
      lookback_s: 5 * DAY_S,
      max_results: s.maxResults,
    })
  })
})

describe('scheduled rules: the detection of a result row', () => {
  const times = {
    latest: '2026-11-22 10:00:03.000',
    first_used: '2026-11-22 10:00:01.000',
    last_used: '2026-11-22 10:00:02.000',
    last_unbound: '2026-11-22 10:00:04.000',
    first_unbound: '2026-11-22 10:00:00.500',
  }
  const base = { tenant: 'acme', event_ids: ['e1', 'e2'], ...times }

  it('client-id-multiple-issuers: one finding per client and issuer set, at its latest event', () => {
    const d = clientIdMultipleIssuers.toDetection(
      { ...base, client_id: 'agent-7', issuers: ['https://a', 'https://b'], per_issuer: { x: 1 } },
      { params: clientIdMultipleIssuers.params.parse({}) },
    )!
    expect(d).toMatchObject({
      tenant: 'acme',
      keys: { client_id: 'agent-7', issuers: 'https://a https://b' },
      evidence: { issuers: ['https://a', 'https://b'], per_issuer: { x: 1 } },
      eventIds: ['e1', 'e2'],
    })
    expect(d.at).toBe(Date.parse('2026-11-22T10:00:03.000Z'))
  })

  it('new-resource-for-client: keyed on the canonical resource, at its first use', () => {
    const d = newResourceForClient.toDetection(
      {
        ...base,
        client_id: 'agent-7',
        resource: 'https://mcp.example.com/mcp',
        resource_raw: 'https://MCP.example.com/mcp',
        uses: '4',
        decisions: ['accepted'],
        client_first: '2026-10-01 00:00:00.000',
        baseline_events: '120',
        other_resources: ['https://api.example.com'],
      },
      { params: newResourceForClient.params.parse({}) },
    )!
    expect(d.keys).toEqual({ client_id: 'agent-7', resource: 'https://mcp.example.com/mcp' })
    expect(d.evidence).toEqual({
      resource: 'https://MCP.example.com/mcp',
      resource_canonical: 'https://mcp.example.com/mcp',
      first_used: times.first_used,
      last_used: times.last_used,
      uses: 4,
      decisions: ['accepted'],
      client_first_seen: '2026-10-01 00:00:00.000',
      baseline_events: 120,
      other_resources: ['https://api.example.com'],
    })
    expect(d.at).toBe(Date.parse('2026-11-22T10:00:01.000Z'))
  })

  it('sender-binding-dropped: one per client, at its last unbound token, with the counts', () => {
    const d = senderBindingDropped.toDetection(
      {
        ...base,
        client_id: 'agent-7',
        binding: 'dpop',
        bound_tokens: '9',
        unbound_tokens: '1',
        resources: ['https://mcp.example.com/mcp'],
      },
      { params: senderBindingDropped.params.parse({}) },
    )!
    expect(d.keys).toEqual({ client_id: 'agent-7' })
    expect(d.evidence).toEqual({
      binding: 'dpop',
      bound_tokens: 9,
      unbound_tokens: 1,
      resources: ['https://mcp.example.com/mcp'],
      first_unbound: times.first_unbound,
    })
    expect(d.at).toBe(Date.parse('2026-11-22T10:00:04.000Z'))
  })
})

describe('resource-uri-drift: the detection of a drift key', () => {
  const MCP = 'https://mcp.example.com/mcp'
  const row = (variants: unknown[]) => ({
    tenant: 'acme',
    event_ids: ['e1'],
    last_occurred: '2026-11-22 10:00:05.000',
    drift_key: 'mcp.example.com/mcp',
    canonical_forms: '1',
    variants,
  })
  const most = [
    MCP,
    MCP,
    '12',
    ['presented_aud'],
    '2026-11-22 10:00:00.000',
    '2026-11-22 10:00:05.000',
  ]
  const slash = [
    `${MCP}/`,
    MCP,
    '3',
    ['granted_aud'],
    '2026-11-22 10:00:01.000',
    '2026-11-22 10:00:02.000',
  ]
  const upper = [
    'HTTPS://MCP.example.com/mcp',
    MCP,
    '1',
    ['requested'],
    '2026-11-22 10:00:03.000',
    '2026-11-22 10:00:03.000',
  ]
  const detect = (variants: unknown[], registry?: Record<string, unknown>[]) =>
    resourceUriDrift.toDetection(row(variants), {
      params: resourceUriDrift.params.parse({}),
      registry: registry && parseResourceRegistry(registry, 'test'),
    })

  it('lists each spelling with its counts and roles, compared to the most used one', () => {
    const d = detect([most, slash, upper])!
    expect(d.keys).toEqual({ drift_key: 'mcp.example.com/mcp' })
    expect(d.at).toBe(Date.parse('2026-11-22T10:00:05.000Z'))
    expect(d.evidence).toMatchObject({
      drift_key: 'mcp.example.com/mcp',
      canonical_forms: 1,
      comparison_to_most_used: ['variant', 'equivalent'],
    })
    expect(d.evidence.variants).toEqual([
      {
        raw: MCP,
        canonical: MCP,
        events: 12,
        roles: ['presented_aud'],
        first_seen: '2026-11-22 10:00:00.000',
        last_seen: '2026-11-22 10:00:05.000',
        declared: false,
      },
      {
        raw: `${MCP}/`,
        canonical: MCP,
        events: 3,
        roles: ['granted_aud'],
        first_seen: '2026-11-22 10:00:01.000',
        last_seen: '2026-11-22 10:00:02.000',
        declared: false,
      },
      {
        raw: 'HTTPS://MCP.example.com/mcp',
        canonical: MCP,
        events: 1,
        roles: ['requested'],
        first_seen: '2026-11-22 10:00:03.000',
        last_seen: '2026-11-22 10:00:03.000',
        declared: false,
      },
    ])
  })

  it('is no finding when the registry declares every spelling, the resource or an alias', () => {
    expect(detect([most, slash], [{ resource: MCP, aliases: [`${MCP}/`] }])).toBeUndefined()
    const d = detect([most, slash, upper], [{ resource: MCP, aliases: [`${MCP}/`] }])!
    expect((d.evidence.variants as { declared: boolean }[]).map((v) => v.declared)).toEqual([
      true,
      true,
      false,
    ])
    // A spelling that only resolves to a registered entry is not declared.
    const e = detect([most, upper], [{ resource: MCP }])!
    expect((e.evidence.variants as { declared: boolean }[]).map((v) => v.declared)).toEqual([
      true,
      false,
    ])
  })
})
