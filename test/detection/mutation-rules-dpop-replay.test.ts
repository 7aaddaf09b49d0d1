/**
 * dpop-proof-replay in memory: what a replay's finding counts and names, the edge of its window,
 * when it is critical (mutation runs, docs/design/mutation.md; the streaming, restart and
 * hand-over behaviour is in dpop-proof-replay.test.ts).
 */
import { describe, expect, it } from 'vitest'
import { runEventExample } from '../../src/detection/examples.js'
import type { RuleExample } from '../../src/detection/rule.js'
import { dpopProofReplay } from '../../src/detection/rules/dpop-proof-replay.js'
import { at, exampleEvents, MCP } from '../../src/detection/rules/lib/example-events.js'
import {
  boundToken,
  PROOF_JTI,
  validProof,
} from '../../src/detection/rules/lib/sender-constraint.js'

type Fields = Record<string, unknown>
const ev = exampleEvents('mutation-dpop-replay')
const run = (events: Fields[], params: Fields = {}) =>
  runEventExample(dpopProofReplay, { name: 't', fires: true, events, params } as RuleExample)
const use = (server: string, seconds: number, o: Fields = {}) =>
  ev.presented({
    occurred_at: at(seconds),
    source: { kind: 'mcp_server', id: server },
    token: boundToken(),
    proof: validProof(0),
    ...o,
  })
const refused = {
  decision: 'rejected',
  reason: 'other',
  http: { method: 'POST', path: '/mcp', status: 401 },
}

describe('dpop-proof-replay', () => {
  it('names every presentation of the proof: servers, resources, addresses, times', () => {
    const a = use('mcp-1', 1)
    const b = use('mcp-2', 3, { ...refused, network: { ip: '198.51.100.9' } })
    const found = run([a, b])
    expect(found).toHaveLength(1)
    const [d] = found
    expect(d!.severity).toBeUndefined()
    expect(d!.keys).toMatchObject({ proof_jti: PROOF_JTI })
    expect(d!.keys.token_key).toMatch(/\S/)
    expect(d!.eventIds).toEqual([a.event_id, b.event_id])
    expect(d!.at).toBe(Date.parse(at(3)))
    expect(d!.evidence).toMatchObject({
      proof_jti_fingerprint: PROOF_JTI,
      presentations: 2,
      accepted: 1,
      sources: ['mcp-1', 'mcp-2'],
      resources: [MCP],
      ips: ['203.0.113.7', '198.51.100.9'],
      client_id: 'agent-7',
      first_seen: at(1),
      last_seen: at(3),
      current: { proof: { scheme: 'DPoP', jti_fingerprint: PROOF_JTI } },
    })
  })

  it('is critical when the proof was accepted twice, and counts every presentation', () => {
    const found = run([use('mcp-1', 1), use('mcp-2', 2), use('mcp-3', 3)])
    expect(found.map((d) => [d.severity, d.evidence.presentations, d.evidence.accepted])).toEqual([
      ['critical', 2, 2],
      ['critical', 3, 3],
    ])
  })

  it('counts a replay up to exactly the window after the first presentation, not one second more', () => {
    expect(run([use('mcp-1', 0), use('mcp-2', 300, refused)])).toHaveLength(1)
    expect(run([use('mcp-1', 0), use('mcp-2', 301, refused)])).toEqual([])
    expect(run([use('mcp-1', 0), use('mcp-2', 61, refused)], { windowS: 60 })).toEqual([])
    expect(dpopProofReplay.params.parse({}).windowS).toBe(300)
  })

  it('needs a proof id and a token', () => {
    const noJti = validProof(0, { jti_fingerprint: undefined })
    expect(run([use('mcp-1', 1, { proof: noJti }), use('mcp-2', 2, { proof: noJti })])).toEqual([])
    expect(run([use('mcp-1', 1), ev.issued()])).toEqual([])
  })

  it('orders the presentations by time, whatever the order of arrival', () => {
    const a = use('mcp-1', 1)
    const b = use('mcp-2', 5, refused)
    const late = use('mcp-3', 3, refused)
    const found = run([a, b, late])
    const last = found.at(-1)!
    expect(last.eventIds).toEqual([a.event_id, late.event_id, b.event_id])
    expect(last.evidence).toMatchObject({ first_seen: at(1), last_seen: at(5), presentations: 3 })
  })

  it('counts a replay read twice once', () => {
    const a = use('mcp-1', 1)
    const b = use('mcp-2', 3, refused)
    const found = run([a, b, b])
    expect(found.map((d) => d.evidence.presentations)).toEqual([2, 2])
  })

  it('lists no empty address', () => {
    const a = use('mcp-1', 1, { network: undefined })
    const [d] = run([a, use('mcp-2', 3, refused)])
    expect(d!.evidence.ips).toEqual(['203.0.113.7'])
  })
})
