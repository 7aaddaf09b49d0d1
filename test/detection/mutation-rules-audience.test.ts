/**
 * The audience-shape rules (overbroad-audience, granted-aud-mismatch): the reason each finding
 * gives and what its evidence and keys hold, beyond the examples' fires / stays silent (mutation
 * runs, docs/design/mutation.md). In memory, as the engine runs them.
 */
import { describe, expect, it } from 'vitest'
import { runEventExample } from '../../src/detection/examples.js'
import type { EventRule, RuleExample } from '../../src/detection/rule.js'
import { grantedAudMismatch } from '../../src/detection/rules/granted-aud-mismatch.js'
import { overbroadAudience } from '../../src/detection/rules/overbroad-audience.js'
import {
  API,
  exampleEvents,
  ISSUER,
  MCP,
  token,
} from '../../src/detection/rules/lib/example-events.js'

type Fields = Record<string, unknown>
const run = (rule: EventRule, events: Fields[], registry?: Fields[]) =>
  runEventExample(rule, { name: 't', fires: true, events, registry } as RuleExample)

describe('overbroad-audience', () => {
  const ev = exampleEvents('mutation-overbroad')
  const issuedFor = (aud: string[], more: Fields = {}) =>
    ev.issued({ token: token({ aud }), granted_aud: aud, ...more })
  const reasons = (aud: string[], registry?: Fields[], more: Fields = {}) =>
    run(overbroadAudience, [issuedFor(aud, more)], registry).map((d) => [
      d.keys.audience,
      d.evidence.reason,
    ])

  it('gives each overbroad value its own finding and reason', () => {
    expect(reasons(['*', `${ISSUER}/`, 'files', MCP])).toEqual([
      ['*', 'wildcard'],
      [`${ISSUER}/`, 'issuer'],
      ['files', 'not_absolute_uri'],
    ])
    // A wildcard inside a URI, the issuer spelled exactly, a relative path.
    expect(reasons(['https://*.example.com/mcp', ISSUER, '/mcp'])).toEqual([
      ['https://*.example.com/mcp', 'wildcard'],
      [ISSUER, 'issuer'],
      ['/mcp', 'not_absolute_uri'],
    ])
  })

  it('judges a wildcard even when it is registered, and nothing else registered', () => {
    expect(reasons(['*'], [{ resource: MCP, aliases: ['*'] }])).toEqual([['*', 'wildcard']])
    expect(reasons([ISSUER], [{ resource: ISSUER }])).toEqual([])
  })

  it('does not call a value the issuer when the event names no issuer', () => {
    const d = run(overbroadAudience, [issuedFor([ISSUER], { issuer: undefined })])
    expect(d.map((x) => x.evidence.reason)).not.toContain('issuer')
  })

  it('reports a bare origin with the registered resources it covers, not another origin', () => {
    const registry = [
      { resource: MCP },
      { resource: 'https://mcp.example.com/admin/mcp' },
      { resource: 'https://other.example.com/x' },
    ]
    const [d, ...rest] = run(overbroadAudience, [issuedFor(['https://mcp.example.com'])], registry)
    expect(rest).toEqual([])
    expect(d!.keys).toEqual({ client_id: 'agent-7', audience: 'https://mcp.example.com' })
    expect(d!.evidence).toMatchObject({
      reason: 'bare_origin',
      covers_registered: [MCP, 'https://mcp.example.com/admin/mcp'],
      aud: ['https://mcp.example.com'],
      issuer: ISSUER,
      seen_on: 'issued',
      requested_resources: [MCP],
    })
    expect(d!.evidence.token_key).toMatch(/\S/)
    // An origin covering nothing registered, and a path that is not an origin: silent.
    expect(
      reasons(['https://mcp.example.com'], [{ resource: 'https://other.example.com/x' }]),
    ).toEqual([])
    expect(reasons(['https://mcp.example.com/mc'], registry)).toEqual([])
  })

  it('a path is no bare origin, even one that registered resources lie under', () => {
    const registry = [{ resource: 'https://mcp.example.com/admin/mcp' }]
    expect(reasons(['https://mcp.example.com/admin'], registry)).toEqual([])
    // Also a path that ends like an origin (`.../x://y`): the whole value must be one.
    const odd = [{ resource: 'https://mcp.example.com/x://y/mcp' }]
    expect(reasons(['https://mcp.example.com/x://y'], odd)).toEqual([])
  })

  it('a URI without an authority (but a urn:) is not absolute enough', () => {
    // `localhost:8080` parses as scheme `localhost` without an authority (a urn: is fine).
    expect(reasons(['localhost:8080'])).toEqual([['localhost:8080', 'not_absolute_uri']])
    expect(reasons(['urn:example:files'])).toEqual([])
  })

  it('leaves covers_registered out of every other reason', () => {
    const [d] = run(overbroadAudience, [issuedFor(['*'])])
    expect(d!.evidence).not.toHaveProperty('covers_registered')
  })
})

describe('granted-aud-mismatch', () => {
  const ev = exampleEvents('mutation-granted')

  it('an audience nobody asked for: high, with what was requested and granted', () => {
    const issued = ev.issued({ token: token({ aud: [MCP, API] }), granted_aud: [MCP, API] })
    const [d, ...rest] = run(grantedAudMismatch, [issued])
    expect(rest).toEqual([])
    expect(d!.severity).toBe('high')
    expect(d!.keys).toEqual({
      client_id: 'agent-7',
      requested: MCP,
      granted: [API, MCP].sort().join(' '),
    })
    expect(d!.evidence).toMatchObject({
      reasons: ['unrequested_audience'],
      requested: [MCP],
      requested_from: 'request',
      granted: [MCP, API],
      unrequested: [API],
      outside_grant: [],
      not_granted: [],
      grant_resources: [],
      grant_type: 'authorization_code',
      resource_switch: false,
    })
    expect(d!.evidence.token_key).toMatch(/\S/)
  })

  it('a narrowed explicit request: medium, requested_not_granted, keyed on the sorted request', () => {
    const [d] = run(grantedAudMismatch, [ev.issued({ requested_resources: [MCP, API] })])
    expect(d!.severity).toBe('medium')
    expect(d!.keys.requested).toBe([MCP, API].sort().join(' '))
    expect(d!.evidence).toMatchObject({ reasons: ['requested_not_granted'], not_granted: [API] })
  })

  it("reads the AS's granted audience first, the token's own when none was recorded", () => {
    const [d] = run(grantedAudMismatch, [
      ev.issued({ token: token({ aud: [MCP] }), granted_aud: [API] }),
    ])
    expect(d!.evidence).toMatchObject({ granted: [API], unrequested: [API] })
    const [e] = run(grantedAudMismatch, [
      ev.issued({ token: token({ aud: [API] }), granted_aud: [] }),
    ])
    expect(e!.evidence).toMatchObject({
      granted: [API],
      reasons: ['unrequested_audience', 'requested_not_granted'],
    })
  })

  it('a token with no audience at all: high, not audience-restricted (and nothing "not granted")', () => {
    const [d] = run(grantedAudMismatch, [ev.issued({ token: token({ aud: [] }), granted_aud: [] })])
    expect(d!.severity).toBe('high')
    expect(d!.evidence).toMatchObject({ reasons: ['not_audience_restricted'], granted: [] })
  })

  it('a refresh outside the original grant, the request taken from the grant when it names none', () => {
    const CAL = 'https://cal.example.com/'
    const [d] = run(grantedAudMismatch, [
      ev.issued({
        grant_type: 'refresh_token',
        token: token({ aud: [API] }),
        requested_resources: [],
        granted_aud: [API],
        attributes: { grant_resources: [CAL], resource_switch: true },
      }),
    ])
    expect(d!.severity).toBe('high')
    // Keyed on the canonical form (no trailing slash on an empty path).
    expect(d!.keys.requested).toBe('https://cal.example.com')
    expect(d!.evidence).toMatchObject({
      reasons: ['unrequested_audience', 'outside_original_grant'],
      requested: [CAL],
      requested_from: 'original_grant',
      outside_grant: [API],
      not_granted: [],
      grant_resources: [CAL],
      grant_type: 'refresh_token',
      resource_switch: true,
    })
  })

  it('does not judge a presentation, even one carrying the grant it came from', () => {
    expect(
      run(grantedAudMismatch, [
        ev.presented({ token: token({ aud: [MCP] }), attributes: { grant_resources: [API] } }),
      ]),
    ).toEqual([])
  })

  it('judges token exchanges too, and neither presentations nor requests without resources', () => {
    expect(
      run(grantedAudMismatch, [
        ev.exchanged({ token: token({ jti: 'x', aud: [API, MCP] }), granted_aud: [API, MCP] }),
      ]),
    ).toHaveLength(1)
    expect(run(grantedAudMismatch, [ev.presented({ token: token({ aud: [MCP, API] }) })])).toEqual(
      [],
    )
    expect(
      run(grantedAudMismatch, [
        ev.issued({ requested_resources: [], token: token({ aud: [API] }), granted_aud: [API] }),
      ]),
    ).toEqual([])
  })
})
