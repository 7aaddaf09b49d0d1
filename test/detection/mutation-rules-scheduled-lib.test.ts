/**
 * The rules' shared helpers that no test read directly (src/detection/rules/lib/params.ts,
 * presentations.ts, scheduled.ts, sender-constraint.ts' proofEvidence) and the two scheduled
 * rules whose query parameters and result mapping mutation-rules-scheduled.test.ts leaves out
 * (token-multi-source, token-usage-spike): what a query is given and what a finding carries,
 * without ClickHouse. Part of the mutation runs' `rules/lib-and-scheduled` test set (issue 31,
 * docs/design/mutation.md).
 */
import { describe, expect, it } from 'vitest'
import { lookbackDays, maxResults } from '../../src/detection/rules/lib/params.js'
import {
  detectAtResource,
  presentedWith,
  TOKEN_AT_RESOURCE,
} from '../../src/detection/rules/lib/presentations.js'
import { resultDetection } from '../../src/detection/rules/lib/scheduled.js'
import { proofEvidence } from '../../src/detection/rules/lib/sender-constraint.js'
import { presentationEvidence } from '../../src/detection/rules/lib/rows.js'
import { audienceMatch } from '../../src/detection/rules/lib/resources.js'
import { parseResourceRegistry } from '../../src/resource-registry.js'
import { tokenMultiSource } from '../../src/detection/rules/token-multi-source.js'
import { normalTail, tokenUsageSpike } from '../../src/detection/rules/token-usage-spike.js'
import { presentedRow } from '../helpers/events.js'

const DAY_S = 86_400

describe('lib/params: the scheduled rules shared parameters', () => {
  it('lookbackDays: whole days from 1 to 400, 30 by default', () => {
    const days = lookbackDays('days')
    expect(days.parse(undefined)).toBe(30)
    for (const ok of [1, 2, 399, 400]) expect(days.parse(ok)).toBe(ok)
    for (const bad of [0, -1, 401, 1.5])
      expect(days.safeParse(bad).success, String(bad)).toBe(false)
    expect(days.description).toBe('days')
  })

  it('maxResults: a positive whole number, 1000 by default', () => {
    const max = maxResults()
    expect(max.parse(undefined)).toBe(1000)
    expect(max.parse(1)).toBe(1)
    for (const bad of [0, -3, 2.5]) expect(max.safeParse(bad).success, String(bad)).toBe(false)
  })
})

describe('lib/presentations', () => {
  it('keys a finding on the token, the resource and the client', () => {
    expect(TOKEN_AT_RESOURCE).toEqual(['token_key', 'resource', 'client_id'])
  })

  it('presentedWith: a presentation answered with that decision, nothing else', () => {
    const accepted = presentedRow({ decision: 'accepted' })
    const rejected = presentedRow({ decision: 'rejected', reason: 'aud_mismatch' })
    expect(presentedWith(accepted, 'accepted')).toBe(true)
    expect(presentedWith(accepted, 'rejected')).toBe(false)
    expect(presentedWith(rejected, 'rejected')).toBe(true)
    expect(presentedWith(rejected, 'accepted')).toBe(false)
    // Another event type with the same decision column is no presentation.
    expect(presentedWith({ ...accepted, event_type: 'token.issued' }, 'accepted')).toBe(false)
  })

  it('detectAtResource: keyed on the canonical resource, the evidence as given', () => {
    const row = presentedRow({ resource: 'HTTPS://MCP.example.com/mcp' })
    const d = detectAtResource(row, { why: 'x' })
    expect(d).toStrictEqual({
      tenant: 'acme',
      keys: {
        token_key: row.token_key,
        resource: 'https://mcp.example.com/mcp',
        client_id: 'agent-7',
      },
      evidence: { why: 'x' },
      eventIds: [row.event_id],
      at: Date.parse(`${row.occurred_at.replace(' ', 'T')}Z`),
    })
    expect(row.token_key).not.toBe('')
  })
})

describe('lib/resources: audienceMatch', () => {
  it('recomputes the class with the registry given (a reload applies), else reads the row', () => {
    const alias = 'https://files.example.com/mcp'
    const row = presentedRow({ presented_aud: [alias] })
    expect(row.aud_match).toBe('different')
    expect(audienceMatch(row, undefined)).toBe('different')
    const registry = parseResourceRegistry(
      [{ resource: 'https://mcp.example.com/mcp', aliases: [alias] }],
      'test',
    )
    expect(audienceMatch(row, registry)).not.toBe('different')
    expect(audienceMatch(row, registry)).not.toBe('')
  })
})

describe('lib/scheduled: resultDetection', () => {
  it('takes the tenant, the event ids and the time of the named column, keys and evidence as given', () => {
    const row = {
      tenant: 'acme',
      event_ids: ['e1', 'e2'],
      first_used: '2026-11-22 10:00:01.250',
      last_used: '2026-11-22 10:00:09.000',
    }
    const keys = { client_id: 'agent-7' }
    const evidence = { n: 2 }
    expect(resultDetection(row, 'first_used', keys, evidence)).toStrictEqual({
      tenant: 'acme',
      keys,
      evidence,
      eventIds: ['e1', 'e2'],
      at: Date.parse('2026-11-22T10:00:01.250Z'),
    })
    expect(resultDetection(row, 'last_used', keys, evidence).at).toBe(
      Date.parse('2026-11-22T10:00:09.000Z'),
    )
  })
})

describe('lib/sender-constraint: proofEvidence', () => {
  it('carries every confirmation and proof fact the row has', () => {
    const row = {
      ...presentedRow(),
      token_cnf_jkt: 'jkt-1',
      token_cnf_x5t: 'x5t-1',
      proof_scheme: 'DPoP',
      proof_verdict: 'invalid',
      proof_failure: 'htu_mismatch',
      proof_jkt: 'jkt-2',
      proof_cert_x5t: 'x5t-2',
      proof_htm: 'POST',
      proof_htu: 'https://mcp.example.com/other',
      proof_jti: 'proof-jti',
    }
    expect(proofEvidence(row)).toStrictEqual({
      ...presentationEvidence(row),
      cnf: { jkt: 'jkt-1', 'x5t#S256': 'x5t-1' },
      proof: {
        scheme: 'DPoP',
        verdict: 'invalid',
        failure: 'htu_mismatch',
        jkt: 'jkt-2',
        cert_thumbprint: 'x5t-2',
        htm: 'POST',
        htu: 'https://mcp.example.com/other',
        jti_fingerprint: 'proof-jti',
      },
    })
  })

  it('leaves out each fact the row does not have', () => {
    const row = presentedRow()
    expect(proofEvidence(row)).toStrictEqual({
      ...presentationEvidence(row),
      cnf: {},
      proof: { scheme: '', verdict: '' },
    })
  })
})

describe('token-multi-source: query parameters and the detection of a result row', () => {
  it('gives its query the defaults in the units the query reads', () => {
    expect(tokenMultiSource.queryParams(tokenMultiSource.params.parse({}))).toEqual({
      min_sources: 3,
      in_turn: 1,
      tolerance_ms: 10_000,
      learn_s: 7 * DAY_S,
      established_ms: 24 * 3_600_000,
      hop_ms: 150_000,
      ipv4_cut: 1,
      ipv6_cut: 9,
      lookback_s: 300 + 3600,
      max_results: 1000,
    })
  })

  it('converts the parameters given', () => {
    const p = tokenMultiSource.params.parse({
      minSources: 2,
      inTurn: false,
      toleranceS: 3,
      learnDays: 1.5,
      establishedHours: 0.5,
      windowS: 3,
      ipv4PrefixLength: 16,
      ipv6PrefixLength: 64,
      maxLatenessS: 0,
      maxResults: 7,
    })
    expect(tokenMultiSource.queryParams(p)).toEqual({
      min_sources: 2,
      in_turn: 0,
      tolerance_ms: 3000,
      learn_s: Math.round(1.5 * DAY_S),
      established_ms: 1_800_000,
      hop_ms: 1500,
      ipv4_cut: 2,
      ipv6_cut: 8,
      lookback_s: 3,
      max_results: 7,
    })
  })

  it('refuses parameters out of their bounds', () => {
    for (const bad of [
      { minSources: 1 },
      { toleranceS: -1 },
      { learnDays: 31 },
      { learnDays: -1 },
      { establishedHours: -1 },
      { windowS: 1 },
      { ipv4PrefixLength: 12 },
      { ipv4PrefixLength: 0 },
      { ipv4PrefixLength: 40 },
      { ipv6PrefixLength: 136 },
      { ipv6PrefixLength: 60 },
      { maxLatenessS: -1 },
      { maxResults: 0 },
    ])
      expect(tokenMultiSource.params.safeParse(bad).success, JSON.stringify(bad)).toBe(false)
    for (const ok of [
      { minSources: 2, toleranceS: 0, learnDays: 0, establishedHours: 0, windowS: 2 },
      { learnDays: 30, ipv4PrefixLength: 8, ipv6PrefixLength: 8, maxLatenessS: 0 },
      { ipv4PrefixLength: 32, ipv6PrefixLength: 128 },
    ])
      expect(tokenMultiSource.params.safeParse(ok).success, JSON.stringify(ok)).toBe(true)
  })

  it('makes one finding per token and client, at its last use, with the networks counted', () => {
    const params = tokenMultiSource.params.parse({ windowS: 120, ipv6PrefixLength: 64 })
    const row = {
      tenant: 'acme',
      token_key: 'jti:at-1',
      client_id: 'agent-7',
      max_sources: '3',
      new_sources: '2',
      usual_networks: '1',
      in_turn: '1',
      ips: ['203.0.113.7', '198.51.100.20'],
      resources: ['https://mcp.example.com/mcp'],
      first_occurred: '2026-11-22 10:00:00.000',
      last_occurred: '2026-11-22 10:00:50.000',
      event_ids: ['e1', 'e2', 'e3'],
    }
    const d = tokenMultiSource.toDetection(row, { params })!
    expect(d).toStrictEqual({
      tenant: 'acme',
      keys: { token_key: 'jti:at-1', client_id: 'agent-7' },
      evidence: {
        sources: 3,
        new_sources: 2,
        usual_networks: 1,
        in_turn: true,
        ips: ['203.0.113.7', '198.51.100.20'],
        resources: ['https://mcp.example.com/mcp'],
        first_seen: '2026-11-22 10:00:00.000',
        last_seen: '2026-11-22 10:00:50.000',
        window_s: 120,
        prefixes: { ipv4: 24, ipv6: 64 },
      },
      eventIds: ['e1', 'e2', 'e3'],
      at: Date.parse('2026-11-22T10:00:50.000Z'),
    })
    const apart = tokenMultiSource.toDetection({ ...row, in_turn: '0' }, { params })!
    expect(apart.evidence.in_turn).toBe(false)
  })
})

describe('token-usage-spike: query parameters and the detection of a result row', () => {
  it("normalTail: the standard normal's upper tail", () => {
    // Reference values of P(Z > z), to the approximation's 1.5e-7.
    for (const [z, p] of [
      [0, 0.5],
      [1, 0.158655254],
      [1.96, 0.024997895],
      [3.5, 0.000232629],
      [-1, 0.841344746],
      [-2.5, 0.993790335],
    ] as const)
      expect(Math.abs(normalTail(z) - p), String(z)).toBeLessThan(2e-7)
  })

  it('gives its query the defaults, the lookback one interval past the baseline plus lateness', () => {
    const p = tokenUsageSpike.params.parse({})
    expect(tokenUsageSpike.queryParams(p)).toEqual({
      interval_s: 3600,
      baseline_intervals: 168,
      min_history: 24,
      threshold: 3.5,
      min_mad: 1,
      min_ratio: 2,
      min_active: 3,
      max_p: normalTail(3.5),
      min_events: 10,
      lookback_s: 169 * 3600 + 3600,
      max_results: 1000,
    })
    const q = tokenUsageSpike.params.parse({
      intervalS: 60,
      baselineIntervals: 10,
      maxLatenessS: 5,
      threshold: 2,
    })
    expect(tokenUsageSpike.queryParams(q)).toMatchObject({
      lookback_s: 11 * 60 + 5,
      max_p: normalTail(2),
    })
  })

  it('refuses parameters out of their bounds', () => {
    for (const bad of [
      { intervalS: 0 },
      { baselineIntervals: 1 },
      { minHistoryIntervals: 1 },
      { minActiveIntervals: 0 },
      { threshold: 0 },
      { minMad: 0 },
      { minRatio: 0.5 },
      { minEvents: 0 },
      { maxLatenessS: -1 },
      { maxResults: 0 },
    ])
      expect(tokenUsageSpike.params.safeParse(bad).success, JSON.stringify(bad)).toBe(false)
    expect(
      tokenUsageSpike.params.safeParse({
        intervalS: 1,
        baselineIntervals: 2,
        minHistoryIntervals: 2,
        minActiveIntervals: 1,
        minRatio: 1,
        minEvents: 1,
        maxLatenessS: 0,
      }).success,
    ).toBe(true)
  })

  it('makes one finding per client and resource, with the window start and rounded figures', () => {
    const params = tokenUsageSpike.params.parse({ intervalS: 60, threshold: 3 })
    const bucket = Date.parse('2026-11-22T10:05:00.000Z') / 1000
    const d = tokenUsageSpike.toDetection(
      {
        tenant: 'acme',
        client_id: 'agent-7',
        resource: 'https://mcp.example.com/mcp',
        bucket: String(bucket),
        window_intervals: '2',
        w_x: '40',
        interval_x: '30',
        w_median: '6',
        mad: '1.5',
        w_q95: '9',
        w_p: '0.000012345678',
        phi: '1.23456',
        own_phi_sessions: '2.0049',
        baseline_sessions: '12',
        established: '1',
        history: '20',
        active_intervals: '18',
        w_seasonal: '5',
        w_z: '7.4567',
        event_ids: ['e1', 'e2'],
        last_occurred: '2026-11-22 10:05:59.000',
      },
      { params },
    )!
    expect(d).toStrictEqual({
      tenant: 'acme',
      keys: { client_id: 'agent-7', resource: 'https://mcp.example.com/mcp' },
      evidence: {
        interval_start: '2026-11-22T10:04:00.000Z',
        interval_s: 60,
        window_intervals: 2,
        requests: 40,
        interval_requests: 30,
        baseline_median: 6,
        baseline_mad: 1.5,
        baseline_q95: 9,
        ratio: 6.67,
        poisson_p: 0.0000123,
        dispersion: 1.23,
        session_dispersion: 2,
        baseline_sessions: 12,
        own_history: true,
        baseline_intervals: 20,
        active_intervals: 18,
        seasonal_median: 5,
        robust_z: 7.46,
        threshold: 3,
      },
      eventIds: ['e1', 'e2'],
      at: Date.parse('2026-11-22T10:05:59.000Z'),
    })
  })

  it('divides by a median of one at least, and says when the pair has no history of its own', () => {
    const params = tokenUsageSpike.params.parse({})
    const d = tokenUsageSpike.toDetection(
      {
        tenant: 'acme',
        client_id: 'c',
        resource: 'r',
        bucket: '7200',
        window_intervals: '1',
        w_x: '12',
        w_median: '0',
        established: '0',
        event_ids: [],
        last_occurred: '1970-01-01 02:00:00.000',
      },
      { params },
    )!
    expect(d.evidence).toMatchObject({
      interval_start: '1970-01-01T02:00:00.000Z',
      ratio: 12,
      own_history: false,
    })
  })
})
