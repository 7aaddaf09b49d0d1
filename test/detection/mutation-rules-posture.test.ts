/**
 * The token-posture rules (long-lived-token, scope-not-valid-for-resource): what their findings
 * say and where their thresholds lie, beyond the examples' fires / stays silent (mutation runs,
 * docs/design/mutation.md). In memory, as the engine runs them.
 */
import { describe, expect, it } from 'vitest'
import { runEventExample } from '../../src/detection/examples.js'
import type { EventRule, RuleExample } from '../../src/detection/rule.js'
import { longLivedToken } from '../../src/detection/rules/long-lived-token.js'
import { scopeNotValidForResource } from '../../src/detection/rules/scope-not-valid-for-resource.js'
import {
  API,
  BASE_EPOCH_S,
  exampleEvents,
  MCP,
  token,
} from '../../src/detection/rules/lib/example-events.js'

type Fields = Record<string, unknown>
const run = (
  rule: EventRule,
  events: Fields[],
  more: Partial<Pick<RuleExample, 'params' | 'registry'>> = {},
) => runEventExample(rule, { name: 't', fires: true, events, ...more } as RuleExample)

describe('long-lived-token', () => {
  const ev = exampleEvents('mutation-long-lived')

  it('reports the lifetime, the threshold and where the token was seen', () => {
    const issued = ev.issued({ token: token({ exp: BASE_EPOCH_S + 7200 }) })
    const [d, ...rest] = run(longLivedToken, [issued])
    expect(rest).toEqual([])
    expect(d!.keys).toEqual({ client_id: 'agent-7' })
    expect(d!.eventIds).toEqual([issued.event_id])
    expect(d!.evidence).toMatchObject({
      reason: 'lifetime_above_threshold',
      lifetime_s: 7200,
      max_lifetime_s: 3600,
      aud: [MCP],
      grant_type: 'authorization_code',
      seen_on: 'issued',
    })
    expect(d!.evidence.token_key).toMatch(/\S/)
  })

  it('judges a token first seen presented, once', () => {
    const long = token({ exp: BASE_EPOCH_S + 7200 })
    const found = run(longLivedToken, [
      ev.presented({ token: long }),
      ev.presented({ token: long }),
    ])
    expect(found).toHaveLength(1)
    expect(found[0]!.evidence).toMatchObject({ seen_on: 'presented', lifetime_s: 7200 })
  })

  it('allows exactly the maximum lifetime and reports one second more', () => {
    expect(
      run(longLivedToken, [ev.issued({ token: token({ exp: BASE_EPOCH_S + 3600 }) })]),
    ).toEqual([])
    expect(
      run(longLivedToken, [ev.issued({ token: token({ exp: BASE_EPOCH_S + 3601 }) })]),
    ).toHaveLength(1)
  })

  it('reports a JWT without exp (no lifetime), unless told not to; an opaque token is not judged', () => {
    const [d] = run(longLivedToken, [ev.issued({ token: token({ exp: undefined }) })])
    expect(d!.evidence).toMatchObject({ reason: 'no_exp', lifetime_s: null })
    expect(
      run(longLivedToken, [ev.issued({ token: token({ exp: undefined }) })], {
        params: { flagMissingExp: false },
      }),
    ).toEqual([])
    expect(
      run(longLivedToken, [ev.issued({ token: token({ exp: undefined, format: 'opaque' }) })]),
    ).toEqual([])
  })

  it('does not judge a lifetime without iat', () => {
    expect(
      run(longLivedToken, [
        ev.issued({ token: token({ iat: undefined, exp: BASE_EPOCH_S + 900 }) }),
      ]),
    ).toEqual([])
  })

  it('has the documented defaults', () => {
    expect(longLivedToken.params.parse({})).toEqual({ maxLifetimeS: 3600, flagMissingExp: true })
  })
})

describe('scope-not-valid-for-resource', () => {
  const ev = exampleEvents('mutation-scope')
  const registry = [
    { resource: MCP, scopes: ['files:write', 'files:read'] },
    { resource: API, scopes: ['billing:read'] },
  ]

  it('names the stray scopes, what was registered and granted, and keys on the audience set', () => {
    const issued = ev.issued({
      token: token({ aud: [MCP, API], scopes: ['files:read', 'admin', 'openid'] }),
      granted_aud: [MCP, API],
      granted_scopes: ['files:read', 'admin', 'openid'],
      requested_scopes: ['files:read'],
    })
    const [d, ...rest] = run(scopeNotValidForResource, [issued], { registry })
    expect(rest).toEqual([])
    expect(d!.keys).toEqual({ client_id: 'agent-7', resource: [API, MCP].sort().join(' ') })
    expect(d!.evidence).toMatchObject({
      invalid_scopes: ['admin'],
      granted_scopes: ['files:read', 'admin', 'openid'],
      aud: [MCP, API],
      registered_scopes: ['billing:read', 'files:read', 'files:write'],
      requested_scopes: ['files:read'],
      seen_on: 'issued',
    })
    expect(d!.evidence.token_key).toMatch(/\S/)
  })

  it('ignores the OpenID Connect scopes by default, and others when told', () => {
    for (const s of ['openid', 'offline_access', 'profile', 'email', 'address', 'phone'])
      expect(
        run(
          scopeNotValidForResource,
          [
            ev.issued({
              token: token({ scopes: ['files:read', s] }),
              granted_scopes: ['files:read', s],
            }),
          ],
          { registry },
        ),
        s,
      ).toEqual([])
    const odd = ev.issued({ token: token({ scopes: ['x:y'] }), granted_scopes: ['x:y'] })
    expect(run(scopeNotValidForResource, [odd], { registry })).toHaveLength(1)
    expect(
      run(scopeNotValidForResource, [odd], { registry, params: { ignoreScopes: ['x:y'] } }),
    ).toEqual([])
  })

  it('judges a token once, at its issuance, not again when presented', () => {
    const stray = token({ scopes: ['files:read', 'x:y'] })
    const found = run(
      scopeNotValidForResource,
      [
        ev.issued({ token: stray, granted_scopes: ['files:read', 'x:y'] }),
        ev.presented({ token: stray }),
      ],
      { registry },
    )
    expect(found.map((d) => d.evidence.seen_on)).toEqual(['issued'])
  })

  it('does not judge a token with no audience', () => {
    expect(
      run(
        scopeNotValidForResource,
        [
          ev.issued({
            token: token({ aud: [], scopes: ['x:y'] }),
            granted_aud: [],
            granted_scopes: ['x:y'],
          }),
        ],
        { registry },
      ),
    ).toEqual([])
  })

  it('does not judge when an audience resource registers no scopes, or none are granted', () => {
    const stray = ev.issued({ token: token({ scopes: ['x:y'] }), granted_scopes: ['x:y'] })
    expect(run(scopeNotValidForResource, [stray], { registry: [{ resource: MCP }] })).toEqual([])
    expect(
      run(scopeNotValidForResource, [stray], { registry: [{ resource: MCP, scopes: [] }] }),
    ).toEqual([])
    expect(run(scopeNotValidForResource, [stray])).toEqual([])
    const none = ev.issued({ token: token({ scopes: [] }), granted_scopes: [] })
    expect(run(scopeNotValidForResource, [none], { registry })).toEqual([])
  })
})
