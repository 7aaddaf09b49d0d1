/**
 * delegation-chain-violation: each violation with what its finding says, where the subject
 * token's facts come from, who may act, how deep a chain may go (mutation runs,
 * docs/design/mutation.md). In memory, with the token states the engine keeps.
 */
import { describe, expect, it } from 'vitest'
import { toEventRow } from '../../src/events/event-row.js'
import { assertEvent } from '../../src/events/parse.js'
import { runEventExample } from '../../src/detection/examples.js'
import type { RuleExample } from '../../src/detection/rule.js'
import { delegationChainViolation } from '../../src/detection/rules/delegation-chain-violation.js'
import { API, at, exampleEvents, MCP, token } from '../../src/detection/rules/lib/example-events.js'

type Fields = Record<string, unknown>
const ev = exampleEvents('mutation-delegation')
const run = (events: Fields[], params: Fields = {}, registry?: Fields[]) =>
  runEventExample(delegationChainViolation, {
    name: 't',
    fires: true,
    events,
    params,
    registry,
  } as RuleExample)
const exchange = (aud: string[], scopes: string[], more: Fields = {}) =>
  ev.exchanged({
    occurred_at: at(10),
    client_id: 'files-mcp',
    token: token({ jti: 'at-x', aud, scopes }),
    requested_resources: aud,
    granted_aud: aud,
    ...more,
  })
const violations = (events: Fields[], params: Fields = {}, registry?: Fields[]) =>
  run(events, params, registry).map((d) => d.keys.violation)

describe('delegation-chain-violation', () => {
  it('a wider audience: both sets in the evidence, with what lies outside the subject', () => {
    const found = run([ev.issued(), exchange([MCP, API], ['files:read'])])
    expect(found).toHaveLength(1)
    const [d] = found
    expect(d!.severity).toBeUndefined()
    expect(d!.keys).toMatchObject({ violation: 'wider_audience' })
    expect(d!.keys.token_key).toMatch(/\S/)
    expect(d!.evidence).toMatchObject({
      violation: 'wider_audience',
      subject_audience: [MCP],
      issued_audience: [MCP, API],
      subject_facts_from: 'state',
      depth: 1,
      outside_subject_audience: [API],
      client_id: 'files-mcp',
      issuer: 'https://as.example.com',
    })
    expect(d!.evidence.subject_token_key).toMatch(/\S/)
    expect(d!.evidence.chain).toEqual([
      { token_key: d!.evidence.subject_token_key, audience: [MCP], depth: 0 },
    ])
  })

  it('not a widening when the registry allows every issued audience to be several', () => {
    const registry = [
      { resource: MCP, multi_audience_allowed: true },
      { resource: API, multi_audience_allowed: true },
    ]
    expect(violations([ev.issued(), exchange([MCP, API], ['files:read'])], {}, registry)).toEqual(
      [],
    )
    expect(
      violations([ev.issued(), exchange([MCP, API], ['files:read'])], {}, [
        { resource: MCP, multi_audience_allowed: true },
      ]),
    ).toEqual(['wider_audience'])
  })

  it('a wider scope at the same resource, with the scopes added', () => {
    const [d] = run([ev.issued(), exchange([MCP], ['files:read', 'files:write'])])
    expect(d!.evidence).toMatchObject({
      violation: 'wider_scope',
      subject_scopes: ['files:read'],
      issued_scopes: ['files:read', 'files:write'],
      added: ['files:write'],
    })
  })

  it("another resource's registered scopes are no widening, unless told so; the subject's own resource's are", () => {
    const registry = [
      { resource: MCP, scopes: ['files:read', 'files:write'] },
      { resource: API, scopes: ['billing:read'] },
    ]
    const elsewhere = [ev.issued(), exchange([API], ['files:read', 'billing:read'])]
    expect(violations(elsewhere, {}, registry)).toEqual([])
    expect(violations(elsewhere, { allowRegisteredTargetScopes: false }, registry)).toEqual([
      'wider_scope',
    ])
    expect(
      violations([ev.issued(), exchange([MCP], ['files:read', 'files:write'])], {}, registry),
    ).toEqual(['wider_scope'])
    expect(delegationChainViolation.params.parse({})).toEqual({
      maxDepth: 3,
      allowRegisteredTargetScopes: true,
    })
  })

  it('scopes of another resource that drop the subject’s are not compared', () => {
    expect(violations([ev.issued(), exchange([API], ['billing:read'])])).toEqual([])
    // Keeping every scope of the subject and adding one is a widening anywhere.
    expect(violations([ev.issued(), exchange([API], ['files:read', 'billing:read'])])).toEqual([
      'wider_scope',
    ])
  })

  it('takes the subject facts the AS recorded on the exchange over the state', () => {
    const [d] = run([
      exchange([API], ['a', 'b'], {
        attributes: { subject_token_aud: [API], subject_token_scopes: ['a'] },
      }),
    ])
    expect(d!.evidence).toMatchObject({
      violation: 'wider_scope',
      subject_facts_from: 'event',
      added: ['b'],
    })
    // Only the audience recorded: the scopes come from the state.
    const [e] = run([
      ev.issued(),
      exchange([MCP], ['files:read', 'x'], { attributes: { subject_token_aud: [MCP] } }),
    ])
    expect(e!.evidence).toMatchObject({
      subject_facts_from: 'event',
      subject_scopes: ['files:read'],
    })
    // Only the scopes recorded: the audience comes from the state.
    const [f] = run([
      ev.issued(),
      exchange([MCP, API], ['files:read'], {
        attributes: { subject_token_scopes: ['files:read'] },
      }),
    ])
    expect(f!.evidence).toMatchObject({ violation: 'wider_audience', subject_audience: [MCP] })
  })

  it('judges nothing of a subject never seen, but the actor and the depth', () => {
    expect(violations([exchange([MCP, API], ['x', 'y'])])).toEqual([])
    expect(violations([ev.presented(), exchange([MCP, API], ['x', 'y'])])).toEqual([])
  })

  it('an actor the subject’s may_act does not name: critical, with who acted', () => {
    const mayAct = (v: Fields) => [ev.issued({ attributes: { may_act: v } })]
    const [d] = run([
      ...mayAct({ sub: 'files-mcp' }),
      exchange([MCP], ['files:read'], { actor: { subject: 'other-agent', client_id: 'x' } }),
    ])
    expect(d!.severity).toBe('critical')
    expect(d!.evidence).toMatchObject({
      violation: 'actor_not_permitted',
      may_act: { sub: 'files-mcp' },
      actor: { subject: 'other-agent', client_id: 'x', requesting_client_id: 'files-mcp' },
    })
    // The actor named by its subject, or (without an actor) the requesting client, may act.
    expect(
      violations([
        ...mayAct({ sub: 'bot' }),
        exchange([MCP], ['files:read'], { actor: { subject: 'bot' } }),
      ]),
    ).toEqual([])
    expect(violations([...mayAct({ sub: 'files-mcp' }), exchange([MCP], ['files:read'])])).toEqual(
      [],
    )
    expect(
      violations([...mayAct({ client_id: 'files-mcp' }), exchange([MCP], ['files:read'])]),
    ).toEqual([])
    expect(
      violations([
        ...mayAct({ client_id: 'files-mcp' }),
        exchange([MCP], ['files:read'], { actor: { client_id: 'other' } }),
      ]),
    ).toEqual(['actor_not_permitted'])
    const [none] = run([
      ...mayAct({ sub: 'someone' }),
      exchange([MCP], ['files:read'], { client_id: 'files-mcp' }),
    ])
    expect(none!.evidence).toMatchObject({
      actor: { subject: null, client_id: null, requesting_client_id: 'files-mcp' },
    })
    // may_act recorded on the exchange itself.
    expect(
      violations([
        ev.issued(),
        exchange([MCP], ['files:read'], {
          attributes: { subject_token_may_act: { sub: 'nobody' } },
        }),
      ]),
    ).toEqual(['actor_not_permitted'])
  })

  it('a chain deeper than maxDepth: the recorded depth, else the state’s', () => {
    const [d] = run([exchange([MCP], ['files:read'], { attributes: { act_depth: 4 } })])
    expect(d!.evidence).toMatchObject({ violation: 'chain_too_deep', depth: 4, max_depth: 3 })
    expect(violations([exchange([MCP], ['files:read'], { attributes: { act_depth: 3 } })])).toEqual(
      [],
    )
    expect(
      violations([exchange([MCP], ['files:read'], { attributes: { act_depth: 2 } })], {
        maxDepth: 1,
      }),
    ).toEqual(['chain_too_deep'])
    // A recorded depth that is no positive integer is not believed.
    for (const act_depth of [0, -5, 2.5, '9'])
      expect(
        violations([exchange([MCP], ['files:read'], { attributes: { act_depth } })], {
          maxDepth: 1,
        }),
        String(act_depth),
      ).toEqual([])
  })

  it('follows the chain back through the states, hop by hop', () => {
    const hops = [
      ev.issued(),
      ev.exchanged({ occurred_at: at(10), token: token({ jti: 'h1', aud: [MCP] }) }),
      ev.exchanged({
        occurred_at: at(20),
        subject_token: { jti: 'h1' },
        token: token({ jti: 'h2', aud: [MCP] }),
      }),
    ]
    const [d] = run(hops, { maxDepth: 1 })
    expect(d!.evidence.depth).toBe(2)
    const chain = d!.evidence.chain as { depth: number; audience: string[] }[]
    expect(chain.map((c) => c.depth)).toEqual([1, 0])
    // h1 was granted the exchange's default audience (the API), the issued token the MCP server.
    expect(chain.map((c) => c.audience)).toEqual([[API], [MCP]])
  })

  it('judges only exchanges that name their token', () => {
    expect(violations([ev.issued(), ev.presented({ token: token({ aud: [MCP, API] }) })])).toEqual(
      [],
    )
  })
})

describe('delegation-chain-violation: edges the mutation run found', () => {
  it('judges exchanges only: an issuance claiming a deep chain is not one', () => {
    expect(violations([ev.issued({ attributes: { act_depth: 9 } })])).toEqual([])
  })

  it('works in a context that keeps no token states', () => {
    const row = toEventRow(
      assertEvent(exchange([MCP], ['files:read'], { attributes: { act_depth: 9 } })),
      { receivedAt: Date.parse(at(10)) },
    )
    const found = delegationChainViolation.evaluate(row, undefined, {
      params: delegationChainViolation.params.parse({}),
    })
    expect(found.map((d) => d.keys.violation)).toEqual(['chain_too_deep'])
    expect(found[0]!.evidence.chain).toEqual([
      { token_key: row.subject_token_key, audience: [], depth: 0 },
    ])
  })

  it("reads the AS's granted audience first, the token's own when none was recorded", () => {
    expect(
      violations([ev.issued(), exchange([MCP, API], ['files:read'], { granted_aud: [] })]),
    ).toEqual(['wider_audience'])
    expect(
      violations([
        ev.issued(),
        exchange([MCP], ['files:read'], { token: token({ jti: 'at-x', aud: [MCP, API] }) }),
      ]),
    ).toEqual([])
  })

  it('judges no audience it does not know: only the scopes recorded, no state', () => {
    const [d, ...rest] = run([
      exchange([MCP, API], ['a', 'b'], { attributes: { subject_token_scopes: ['a'] } }),
    ])
    expect(rest).toEqual([])
    expect(d!.evidence).toMatchObject({
      violation: 'wider_scope',
      subject_facts_from: 'event',
      subject_scopes: ['a'],
      added: ['b'],
    })
  })

  it('only the audience recorded, no state: no subject scopes', () => {
    const [d] = run([exchange([MCP], ['x'], { attributes: { subject_token_aud: [MCP] } })])
    expect(d!.evidence).toMatchObject({
      violation: 'wider_scope',
      subject_scopes: [],
      added: ['x'],
    })
  })

  it('a scope widening at any resource the subject had, whatever else was added', () => {
    // files:read dropped (no superset), but MCP is the subject's own resource.
    expect(violations([ev.issued(), exchange([MCP, API], ['x'])])).toEqual([
      'wider_audience',
      'wider_scope',
    ])
  })

  it('at another resource, only a superset of the subject scopes is a widening', () => {
    const recorded = (subject: string[], issued: string[]) =>
      violations([
        exchange([API], issued, {
          attributes: { subject_token_aud: [MCP], subject_token_scopes: subject },
        }),
      ])
    expect(recorded([], ['billing:read'])).toEqual([])
    expect(recorded(['a', 'b'], ['a', 'c'])).toEqual([])
    expect(recorded(['a'], ['a', 'c'])).toEqual(['wider_scope'])
  })

  it('believes the state over a recorded depth of 0', () => {
    const hops = [
      ev.issued(),
      ev.exchanged({ occurred_at: at(10), token: token({ jti: 'h1', aud: [MCP] }) }),
      ev.exchanged({
        occurred_at: at(20),
        subject_token: { jti: 'h1' },
        token: token({ jti: 'h2', aud: [MCP] }),
        attributes: { act_depth: 0 },
      }),
    ]
    const found = run(hops, { maxDepth: 1 })
    expect(found.map((d) => [d.keys.violation, d.evidence.depth])).toEqual([['chain_too_deep', 2]])
  })

  it('the subject facts of an unseen subject are "none"', () => {
    const [d] = run([
      exchange([MCP], ['files:read'], { attributes: { subject_token_may_act: { sub: 'nobody' } } }),
    ])
    expect(d!.evidence).toMatchObject({
      violation: 'actor_not_permitted',
      subject_facts_from: 'none',
    })
  })

  it('a token exchanged for itself has no chain behind it', () => {
    const self = exchange([MCP], ['files:read'], {
      subject_token: { jti: 'at-x' },
      attributes: { act_depth: 9 },
    })
    const [d] = run([self])
    expect(d!.evidence.chain).toEqual([])
  })

  it('shows at most 16 links of a long chain', () => {
    const hops: Fields[] = [ev.issued()]
    for (let i = 1; i <= 20; i++)
      hops.push(
        ev.exchanged({
          occurred_at: at(i),
          subject_token: { jti: i === 1 ? 'at-1' : `h${i - 1}` },
          token: token({ jti: `h${i}`, aud: [MCP] }),
        }),
      )
    const found = run(hops, { maxDepth: 32 }).concat(run(hops, { maxDepth: 19 }))
    expect(found.map((d) => (d.evidence.chain as unknown[]).length)).toEqual([16])
  })
})
