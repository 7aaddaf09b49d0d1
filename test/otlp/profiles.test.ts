/**
 * The mapping profiles one by one (records built directly), their layering, the raw-credential
 * screen, the derived event id, and the answers for records no profile reads.
 */
import { describe, expect, it } from 'vitest'
import { parseEvent } from '../../src/events/parse.js'
import { holdsRawJwt } from '../../src/events/raw-token.js'
import { derivedEventId, mapRecord, PROFILES } from '../../src/otlp/map.js'
import { emptyRecord, type OtlpRecord, type OtlpValue } from '../../src/otlp/model.js'
import { agentgateway } from '../../src/otlp/profiles/agentgateway.js'
import { audtrail } from '../../src/otlp/profiles/audtrail.js'
import { genaiMcp } from '../../src/otlp/profiles/genai-mcp.js'
import type { Draft } from '../../src/otlp/profiles/profile.js'
import { CREDENTIAL_REMOVED, screenRecord, summary } from '../../src/otlp/screen.js'
import { HOSTILE_JWT } from '../helpers/hostile.js'

const NOW_NANOS = `${Date.UTC(2026, 11, 7, 12, 0, 0, 123)}000000`

function record(
  attributes: Record<string, OtlpValue>,
  resource: Record<string, OtlpValue> = { 'service.name': 'weather-mcp' },
  extra: Partial<OtlpRecord> = {},
): OtlpRecord {
  return {
    ...emptyRecord('span', '0/0/0'),
    kind: 2,
    timeUnixNano: NOW_NANOS,
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    attributes: new Map(Object.entries(attributes)),
    resource: new Map(Object.entries(resource)),
    ...extra,
  }
}

const applied = (profile: typeof genaiMcp, r: OtlpRecord) => {
  const draft: Draft = {}
  profile.apply(r, draft)
  return draft
}

describe('genai-mcp (MCP semantic conventions)', () => {
  const r = record({
    'mcp.method.name': 'tools/call',
    'gen_ai.tool.name': 'get_weather',
    'mcp.session.id': 'sess-9',
    'client.address': '2001:db8::1',
    'http.request.method': 'POST',
    'url.path': '/mcp',
    'http.response.status_code': 200,
  })

  it('matches a server span with mcp.method.name, and declines a client span with a reason', () => {
    expect(genaiMcp.matches(r)).toBe(true)
    expect(genaiMcp.matches(record({ 'gen_ai.tool.name': 'x' }))).toBe(false)
    expect(genaiMcp.matches({ ...r, kind: 3 })).toMatch(/client span/)
    expect(genaiMcp.matches({ ...r, signal: 'log', kind: 0 })).toBe(true)
  })

  it('fills the tool, the session, the client address, the HTTP request and the source', () => {
    expect(applied(genaiMcp, r)).toEqual({
      event_type: 'token.presented',
      source: { kind: 'mcp_server', id: 'weather-mcp' },
      tool: { method: 'tools/call', name: 'get_weather' },
      session_id: 'sess-9',
      network: { ip: '2001:db8::1' },
      http: { method: 'POST', path: '/mcp', status: 200 },
    })
  })

  it('alone, makes no valid event: the conventions carry no token, resource or decision', () => {
    const mapped = mapRecord(r, { tenant: 'acme' })
    expect(mapped.kind).toBe('event')
    const parsed = parseEvent(mapped.kind === 'event' ? mapped.value : null)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok) expect(parsed.reasons.join(' ')).toMatch(/resource|decision|aud_validated/)
  })
})

describe('agentgateway', () => {
  const claims = {
    'jwt.sub': 'bob',
    'jwt.iss': 'https://idp.example.com',
    'jwt.jti': 'j-1',
    'jwt.aud': ['https://gw.example.com/mcp', 'https://other.example.com'],
    'jwt.iat': 1_700_000_000,
    'jwt.exp': '1700000600',
    'jwt.scope': 'a b',
    'jwt.azp': 'agent-1',
    'http.method': 'POST',
    'http.path': '/mcp',
    'src.addr': '[2001:db8::7]:443',
  }

  it("matches a jwt.sub, or the gateway's MCP calls and refusals, not its other lines", () => {
    const gateway = { 'service.name': 'agentgateway-prod' }
    expect(agentgateway.matches(record({ 'jwt.sub': 'x' }, {}))).toBe(true)
    expect(agentgateway.matches(record({ 'mcp.method.name': 'x' }, gateway))).toBe(true)
    expect(agentgateway.matches(record({ 'http.status': 401 }, gateway))).toBe(true)
    expect(agentgateway.matches(record({ 'http.status': 200 }, gateway))).toBe(false)
    expect(agentgateway.matches(record({}, gateway))).toBe(false)
    expect(agentgateway.matches(record({ 'mcp.method.name': 'x' }))).toBe(false)
  })

  it('takes the claims of the validated token, and a decision from the status', () => {
    const draft = applied(agentgateway, record({ ...claims, 'http.status': 200 }))
    expect(draft).toMatchObject({
      source: { kind: 'gateway', id: 'weather-mcp' },
      subject: 'bob',
      issuer: 'https://idp.example.com',
      client_id: 'agent-1',
      token: {
        jti: 'j-1',
        iat: 1_700_000_000,
        exp: 1_700_000_600,
        scopes: ['a', 'b'],
        format: 'jwt',
        aud: ['https://gw.example.com/mcp', 'https://other.example.com'],
      },
      presented_aud: ['https://gw.example.com/mcp', 'https://other.example.com'],
      network: { ip: '2001:db8::7' },
      http: { method: 'POST', path: '/mcp', status: 200 },
      decision: 'accepted',
      reason: 'ok',
    })
    expect(applied(agentgateway, record({ ...claims, 'http.status': 403 }))).toMatchObject({
      decision: 'rejected',
      reason: 'other',
    })
    expect(
      applied(agentgateway, record({ 'http.status': 401 }, { 'service.name': 'agentgateway' })),
    ).toMatchObject({ decision: 'rejected', reason: 'missing_token' })
  })
})

describe('audtrail.*', () => {
  it('matches any audtrail.* attribute of the record, not of the resource alone', () => {
    expect(audtrail.matches(record({ 'audtrail.decision': 'accepted' }))).toBe(true)
    expect(audtrail.matches(record({}, { 'audtrail.tenant': 'acme' }))).toBe(false)
  })

  it('fills what the conventions lack, by contract field name', () => {
    const draft = applied(
      audtrail,
      record(
        {
          'audtrail.resource': 'https://mcp.example.com/mcp',
          'audtrail.presented_aud': 'https://mcp.example.com/mcp',
          'audtrail.aud_validated': 'true',
          'audtrail.decision': 'rejected',
          'audtrail.reason': 'aud_mismatch',
          'audtrail.token.fingerprint': 'A'.repeat(43),
          'audtrail.token.scopes': ['s1', 's2'],
          'audtrail.ip': '192.0.2.1:9',
        },
        {
          'service.name': 'x',
          'audtrail.source.kind': 'resource_server',
          'audtrail.source.id': 'api-1',
        },
      ),
    )
    expect(draft).toEqual({
      event_type: 'token.presented',
      source: { kind: 'resource_server', id: 'api-1' },
      resource: 'https://mcp.example.com/mcp',
      presented_aud: ['https://mcp.example.com/mcp'],
      aud_validated: true,
      decision: 'rejected',
      reason: 'aud_mismatch',
      token: { fingerprint: 'A'.repeat(43), scopes: ['s1', 's2'] },
      network: { ip: '192.0.2.1' },
    })
  })

  it('makes the requested resource a list for the other event types', () => {
    const draft = applied(
      audtrail,
      record({
        'audtrail.event_type': 'token.issued',
        'audtrail.resource': 'https://mcp.example.com/mcp',
        'audtrail.granted_aud': ['https://mcp.example.com/mcp'],
      }),
    )
    expect(draft).toMatchObject({
      event_type: 'token.issued',
      requested_resources: ['https://mcp.example.com/mcp'],
      granted_aud: ['https://mcp.example.com/mcp'],
    })
    expect(draft).not.toHaveProperty('resource')
  })

  it('overrides the other profiles field by field (layering)', () => {
    expect(PROFILES.map((p) => p.id)).toEqual(['genai-mcp', 'agentgateway', 'audtrail'])
    const mapped = mapRecord(
      record({
        'mcp.method.name': 'tools/call',
        'jwt.sub': 'bob',
        'jwt.jti': 'from-gateway',
        'http.method': 'POST',
        'http.path': '/mcp',
        'http.status': 200,
        'audtrail.reason': 'aud_mismatch',
        'audtrail.decision': 'rejected',
        'audtrail.resource': 'https://mcp.example.com/mcp',
        'audtrail.aud_validated': true,
      }),
      { tenant: 'acme' },
    )
    expect(mapped.kind).toBe('event')
    if (mapped.kind !== 'event') return
    expect(mapped.profiles).toEqual(['genai-mcp', 'agentgateway', 'audtrail'])
    const parsed = parseEvent(mapped.value)
    expect(parsed.ok).toBe(true)
    if (!parsed.ok) return
    expect(parsed.event).toMatchObject({
      tenant: 'acme',
      source: { kind: 'gateway' },
      subject: 'bob',
      token: { jti: 'from-gateway' },
      decision: 'rejected',
      reason: 'aud_mismatch',
      occurred_at: '2026-12-07T12:00:00.123Z',
      attributes: {
        'otlp.signal': 'span',
        'otlp.trace_id': '0af7651916cd43dd8448eb211c80319c',
        'otlp.span_id': 'b7ad6b7169203331',
        'otlp.profiles': 'genai-mcp,agentgateway,audtrail',
      },
    })
  })
})

describe('records no profile reads, and records that cannot be read', () => {
  it('answers an ordinary span as unmatched, naming the profiles', () => {
    const mapped = mapRecord(record({ 'http.request.method': 'GET' }), {})
    expect(mapped).toEqual({
      kind: 'unmatched',
      reason: expect.stringContaining('genai-mcp, agentgateway, audtrail'),
    })
  })

  it('refuses a record with decoding problems, or without a time', () => {
    const problem = record(
      { 'audtrail.decision': 'accepted' },
      {},
      { problems: ['deep: too deep'] },
    )
    expect(mapRecord(problem, {})).toMatchObject({ kind: 'refused', reasons: ['deep: too deep'] })
    const timeless = record({ 'audtrail.decision': 'accepted' }, {}, { timeUnixNano: '0' })
    expect(mapRecord(timeless, {})).toMatchObject({
      kind: 'refused',
      reasons: ['the record has no time'],
    })
    const observed = mapRecord({ ...timeless, observedTimeUnixNano: NOW_NANOS }, {})
    expect(observed.kind === 'event' && observed.value.occurred_at).toBe('2026-12-07T12:00:00.123Z')
  })
})

describe('raw credentials (src/events/raw-token rules, applied to the whole record)', () => {
  const cases: [string, OtlpRecord, RegExp][] = [
    ['a JWT in a value', record({ 'audtrail.token.jti': HOSTILE_JWT }), /holds a raw JWT/],
    [
      'a JWT deep in a key-value list',
      record({ 'audtrail.decision': 'accepted', meta: new Map([['inner', [`x ${HOSTILE_JWT}`]]]) }),
      /'meta.inner' holds a raw JWT/,
    ],
    [
      'a JWT as a key',
      record({ [HOSTILE_JWT]: 'x', 'audtrail.reason': 'ok' }),
      /key holds a raw JWT/,
    ],
    ['a JWT in the resource', record({}, { 'service.name': HOSTILE_JWT }), /resource attribute/],
    [
      'a bearer token',
      record({ 'audtrail.subject': 'Bearer mF_9.B5f-4.1JqM' }),
      /holds a credential/,
    ],
    [
      'a DPoP token',
      record({ x: 'DPoP Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU' }),
      /holds a credential/,
    ],
    [
      'an Authorization header attribute',
      record({ 'http.request.header.authorization': ['Basic dXNlcjpwYXNz'] }),
      /'http.request.header.authorization' holds a credential/,
    ],
  ]
  it.each(cases)(
    '%s: the record is refused, and its kept summary holds no credential',
    (_, r, reason) => {
      const reasons = screenRecord(r)
      expect(reasons.join(' ')).toMatch(reason)
      const mapped = mapRecord(r, {})
      expect(mapped.kind).toBe('refused')
      const kept = mapped.kind === 'refused' ? mapped.kept : ''
      expect(holdsRawJwt(kept)).toBe(false)
      expect(kept).not.toMatch(/mF_9\.B5f-4\.1JqM|Kz~8mXK1EalYznwH|dXNlcjpwYXNz/)
      expect(holdsRawJwt(reasons.join(' '))).toBe(false)
    },
  )

  it('cuts a raw JWT out of the reasons of a record that cannot be read', () => {
    const r = record({}, {}, { problems: [`${HOSTILE_JWT}: nested deeper than 8 levels`] })
    const mapped = mapRecord(r, {})
    expect(mapped.kind).toBe('refused')
    const reasons = mapped.kind === 'refused' ? mapped.reasons.join(' ') : ''
    expect(reasons).toContain('nested deeper than 8 levels')
    expect(holdsRawJwt(reasons)).toBe(false)
  })

  it('leaves ordinary values alone', () => {
    const r = record({ 'audtrail.subject': 'bearer of news', note: 'Bearer' })
    expect(screenRecord(r)).toEqual([])
    expect(summary(r)).not.toContain(CREDENTIAL_REMOVED)
  })
})

describe('the derived event id', () => {
  it('is a UUID, the same for the same record, different when anything read differs', () => {
    const a = record({ 'audtrail.decision': 'accepted', n: 1 })
    const id = derivedEventId(a)
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(derivedEventId(record({ n: 1, 'audtrail.decision': 'accepted' }))).toBe(id)
    expect(derivedEventId(record({ 'audtrail.decision': 'accepted', n: 2 }))).not.toBe(id)
    expect(derivedEventId({ ...a, spanId: 'b7ad6b7169203332' })).not.toBe(id)
    expect(derivedEventId({ ...a, timeUnixNano: `${NOW_NANOS.slice(0, -1)}1` })).not.toBe(id)
  })

  it('gives way to audtrail.event_id', () => {
    const id = '6f1c2b0e-3a57-4c1d-9a3e-2f4b5c6d7e8f'
    const mapped = mapRecord(record({ 'audtrail.event_id': id }), {})
    expect(mapped.kind === 'event' && mapped.value.event_id).toBe(id)
  })
})
