/**
 * The event rules' shared helpers (src/detection/rules/lib/rows.ts, resources.ts): the event ids
 * and evidence a detection carries, which the examples (checking only whether a rule fires) never
 * read. Part of the mutation runs' `rules/lib` test set (issue 31, docs/design/mutation.md).
 */
import { describe, expect, it } from 'vitest'
import { runEventExample } from '../../src/detection/examples.js'
import type { EventRule } from '../../src/detection/rule.js'
import { RULES } from '../../src/detection/rules/index.js'
import {
  attribute,
  detect,
  isIssuance,
  isPresentation,
  mintedToken,
  presentationEvidence,
  stringList,
} from '../../src/detection/rules/lib/rows.js'
import {
  canonicalSet,
  distinctResources,
  registryEntry,
} from '../../src/detection/rules/lib/resources.js'
import type { TokenState } from '../../src/detection/token-state.js'
import type { EventRow } from '../../src/events/event-row.js'
import { parseResourceRegistry } from '../../src/resource-registry.js'

const MCP = 'https://mcp.example.com/mcp'
const API = 'https://api.example.com/v1'

function row(overrides: Partial<EventRow> = {}): EventRow {
  return {
    tenant: 't1',
    event_id: 'ev-3',
    event_type: 'token.presented',
    schema_version: 1,
    occurred_at: '2026-11-22 10:00:05.000',
    received_at: '2026-11-22 10:00:06.000',
    source_kind: 'resource_server',
    source_id: 'rs-1',
    issuer: 'https://as.example.com',
    client_id: 'client-a',
    subject: 'alice',
    session_id: '',
    token_key: 'jti:abc',
    token_key_kind: 'jti',
    token_jti: 'abc',
    token_fingerprint: '',
    token_iat: 100,
    token_exp: 400,
    token_aud: [MCP],
    token_aud_canonical: [MCP],
    token_scopes: ['files:read'],
    token_format: 'jwt',
    network_ip: '203.0.113.7',
    network_user_agent: 'ua',
    grant_type: '',
    requested_resources: [],
    requested_resources_canonical: [],
    requested_resources_drift: [],
    requested_scopes: [],
    granted_aud: [],
    granted_aud_canonical: [],
    granted_aud_drift: [],
    granted_scopes: [],
    resource: MCP,
    resource_canonical: MCP,
    resource_drift_key: MCP,
    resource_valid: true,
    presented_aud: [API],
    presented_aud_canonical: [API],
    presented_aud_drift: [API],
    aud_match: 'different',
    aud_validated: false,
    decision: 'allow',
    reason: 'ok',
    tool_method: '',
    tool_name: '',
    tool_header_method: '',
    tool_header_name: '',
    http_method: 'POST',
    http_path: '/mcp',
    http_status: 200,
    subject_token_key: '',
    subject_token_jti: '',
    subject_token_fingerprint: '',
    actor_subject: '',
    actor_client_id: '',
    actor_token_jti: '',
    actor_token_fingerprint: '',
    attributes: {},
    token_cnf_jkt: '',
    token_cnf_x5t: '',
    proof_scheme: '',
    proof_verdict: '',
    proof_failure: '',
    proof_jti: '',
    proof_iat: null,
    proof_htm: '',
    proof_htu: '',
    proof_ath: '',
    proof_alg: '',
    proof_jkt: '',
    proof_cert_x5t: '',
    ...overrides,
  }
}

const STATE = {} as TokenState

describe('detect', () => {
  it('lists the earlier events in order, then the row itself, once', () => {
    const d = detect(
      row(),
      { token_key: 'jti:abc' },
      { why: 1 },
      { eventIds: ['ev-1', 'ev-3', 'ev-2'] },
    )
    expect(d.eventIds).toEqual(['ev-1', 'ev-2', 'ev-3'])
    expect(d).toStrictEqual({
      tenant: 't1',
      keys: { token_key: 'jti:abc' },
      evidence: { why: 1 },
      eventIds: ['ev-1', 'ev-2', 'ev-3'],
      at: Date.parse('2026-11-22T10:00:05.000Z'),
    })
  })

  it('without earlier events names only the row; without a severity has no severity field', () => {
    const d = detect(row(), {}, {})
    expect(d.eventIds).toEqual(['ev-3'])
    expect(Object.keys(d)).not.toContain('severity')
  })

  it('carries a severity given', () => {
    expect(detect(row(), {}, {}, { severity: 'critical' }).severity).toBe('critical')
  })
})

describe('attribute and stringList', () => {
  it('reads a JSON-encoded attribute; undefined when absent or not JSON', () => {
    const r = row({ attributes: { a: '["x",1]', b: 'not json', n: '0' } })
    expect(attribute(r, 'a')).toEqual(['x', 1])
    expect(attribute(r, 'n')).toBe(0)
    expect(attribute(r, 'b')).toBeUndefined()
    expect(attribute(r, 'missing')).toBeUndefined()
  })

  it('takes an array of strings only', () => {
    expect(stringList(['a', 'b'])).toEqual(['a', 'b'])
    expect(stringList([])).toEqual([])
    expect(stringList(['a', 1])).toBeUndefined()
    expect(stringList([1, 2])).toBeUndefined()
    expect(stringList('a')).toBeUndefined()
    expect(stringList({ length: 0 })).toBeUndefined()
  })
})

describe('event kinds', () => {
  it('a presentation is token.presented only; an issuance is token.issued or token.exchanged', () => {
    expect(isPresentation(row())).toBe(true)
    expect(isPresentation(row({ event_type: 'token.issued' }))).toBe(false)
    expect(isIssuance(row({ event_type: 'token.issued' }))).toBe(true)
    expect(isIssuance(row({ event_type: 'token.exchanged' }))).toBe(true)
    expect(isIssuance(row())).toBe(false)
    expect(isIssuance(row({ event_type: 'authorization.requested' }))).toBe(false)
  })
})

describe('mintedToken', () => {
  it('at issuance takes the granted audience and scopes', () => {
    const r = row({
      event_type: 'token.issued',
      granted_aud: [API],
      granted_scopes: ['admin'],
      token_aud: [MCP],
      token_scopes: ['files:read'],
    })
    expect(mintedToken(r, STATE)).toStrictEqual({
      via: 'issued',
      aud: [API],
      scopes: ['admin'],
      iat: 100,
      exp: 400,
    })
  })

  it('at issuance without granted values falls back to the token claims', () => {
    const r = row({ event_type: 'token.exchanged', token_iat: null, token_exp: null })
    expect(mintedToken(r, undefined)).toStrictEqual({
      via: 'issued',
      aud: [MCP],
      scopes: ['files:read'],
      iat: null,
      exp: null,
    })
  })

  it('on a first presentation takes the token claims, else the presented aud', () => {
    expect(mintedToken(row(), undefined)).toStrictEqual({
      via: 'presented',
      aud: [MCP],
      scopes: ['files:read'],
      iat: 100,
      exp: 400,
    })
    expect(mintedToken(row({ token_aud: [] }), undefined)?.aud).toEqual([API])
  })

  it('not on a later presentation, a presentation without a token key, or another event', () => {
    expect(mintedToken(row(), STATE)).toBeUndefined()
    expect(mintedToken(row({ token_key: '' }), undefined)).toBeUndefined()
    expect(mintedToken(row({ event_type: 'authorization.requested' }), undefined)).toBeUndefined()
  })
})

describe('presentationEvidence', () => {
  const expected = {
    event_id: 'ev-3',
    occurred_at: '2026-11-22 10:00:05.000',
    resource: MCP,
    resource_canonical: MCP,
    presented_aud: [API],
    presented_aud_canonical: [API],
    aud_match: 'different',
    aud_validated: false,
    decision: 'allow',
    reason: 'ok',
    token_key: 'jti:abc',
    client_id: 'client-a',
    subject: 'alice',
    source_id: 'rs-1',
    ip: '203.0.113.7',
  }

  it('names the resource, the aud raw and canonical, the decision and who', () => {
    expect(presentationEvidence(row())).toStrictEqual(expected)
  })

  it('adds the MCP tool when there is one', () => {
    expect(
      presentationEvidence(row({ tool_method: 'tools/call', tool_name: 'read_file' })),
    ).toStrictEqual({ ...expected, tool: { method: 'tools/call', name: 'read_file' } })
  })
})

describe('resources', () => {
  const registry = parseResourceRegistry([
    { resource: MCP, aliases: ['api://files-mcp'], scopes: ['files:read'] },
    { resource: `${MCP}/`, scopes: ['other'] },
    { resource: API },
  ])

  it('finds the entry of a resource or an alias; the first of a resource listed twice', () => {
    expect(registryEntry(MCP, registry)?.scopes).toEqual(['files:read'])
    expect(registryEntry('api://files-mcp', registry)?.resource).toBe(MCP)
    expect(registryEntry(API, registry)?.resource).toBe(API)
    expect(registryEntry('https://elsewhere.example.com', registry)).toBeUndefined()
    expect(registryEntry(MCP, undefined)).toBeUndefined()
  })

  it('a resource listed twice in two spellings: the first entry carries its scopes', () => {
    const twice = parseResourceRegistry([
      { resource: API, scopes: ['first'] },
      { resource: 'HTTPS://API.example.com/v1', scopes: ['second'] },
    ])
    expect(registryEntry(API, twice)?.scopes).toEqual(['first'])
  })

  it('keeps the first spelling of each distinct resource', () => {
    expect(distinctResources(['api://files-mcp', MCP, API], registry)).toEqual([
      'api://files-mcp',
      API,
    ])
    expect(distinctResources(['HTTPS://API.example.com/v1', API], undefined)).toEqual([
      'HTTPS://API.example.com/v1',
    ])
  })

  it('canonical forms in order without duplicates', () => {
    expect(canonicalSet(['HTTPS://API.example.com/v1', API, MCP])).toEqual([API, MCP])
    expect(canonicalSet([])).toEqual([])
  })
})

describe('the event rules examples: their detections name their events', () => {
  const EVENT_RULES = RULES.filter((r): r is EventRule => r.kind === 'event')
  for (const rule of EVENT_RULES)
    it(`${rule.id}: each detection's events are the example's, distinct, newest last, at its time`, () => {
      for (const example of rule.examples.filter((e) => e.fires)) {
        const ids = example.events.map((e) => (e as { event_id: string }).event_id)
        for (const d of runEventExample(rule, example)) {
          expect(new Set(d.eventIds).size).toBe(d.eventIds.length)
          for (const id of d.eventIds) expect(ids).toContain(id)
          const last = example.events[ids.indexOf(d.eventIds.at(-1)!)] as { occurred_at: string }
          expect(d.at).toBe(Date.parse(last.occurred_at))
          expect(d.tenant).not.toBe('')
        }
      }
    })
})
