/**
 * dpop-proof-replay: how many times a proof was presented, past the few presentations the token
 * state keeps (five per proof, token-state.ts), and when a replay is read again (mutation run of
 * 2026-12-08, docs/design/mutation.md). In memory.
 */
import { describe, expect, it } from 'vitest'
import { runEventExample } from '../../src/detection/examples.js'
import type { RuleExample } from '../../src/detection/rule.js'
import { dpopProofReplay } from '../../src/detection/rules/dpop-proof-replay.js'
import { at, exampleEvents } from '../../src/detection/rules/lib/example-events.js'
import { boundToken, validProof } from '../../src/detection/rules/lib/sender-constraint.js'

type Fields = Record<string, unknown>
const ev = exampleEvents('mutation-replay-count')
const run = (events: Fields[]) =>
  runEventExample(dpopProofReplay, { name: 't', fires: true, events } as RuleExample)
/** The proof presented at server `mcp-<n>`, `n` seconds in, refused (a server with a jti store). */
const use = (n: number) =>
  ev.presented({
    occurred_at: at(n),
    source: { kind: 'mcp_server', id: `mcp-${n}` },
    token: boundToken(),
    proof: validProof(0),
    decision: 'rejected',
    reason: 'other',
    http: { method: 'POST', path: '/mcp', status: 401 },
  })

describe('dpop-proof-replay: the count of presentations', () => {
  const seven = [1, 2, 3, 4, 5, 6, 7].map(use)

  it('counts every presentation, also those past the five kept as evidence', () => {
    const found = run(seven)
    // The second to the seventh presentation each find the replay.
    expect(found.map((d) => d.evidence.presentations)).toEqual([2, 3, 4, 5, 6, 7])
    // The evidence lists the kept presentations and the current one.
    const last = found.at(-1)!
    expect(last.eventIds).toEqual([...seven.slice(0, 5), seven[6]!].map((e) => e.event_id))
    expect(last.evidence.sources).toEqual(['mcp-1', 'mcp-2', 'mcp-3', 'mcp-4', 'mcp-5', 'mcp-7'])
  })

  it('does not count a kept presentation read again', () => {
    const found = run([...seven, seven[2]!])
    // The third presentation read again: still seven presentations, its own finding's ids.
    const reread = found.at(-1)!
    expect(reread.evidence.presentations).toBe(7)
    expect(reread.eventIds).toEqual(seven.slice(0, 5).map((e) => e.event_id))
  })
})

describe('dpop-proof-replay: a token known before its first proof', () => {
  it('finds the replay of a proof whose token was issued before (its state had no proofs yet)', () => {
    const found = run([ev.issued({ token: boundToken() }), use(1), use(2)])
    expect(found.map((d) => d.evidence.presentations)).toEqual([2])
  })
})
