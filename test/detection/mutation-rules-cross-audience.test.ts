/**
 * cross-audience-replay: behaviours its mutation run found untested (docs/design/mutation.md).
 * Counts and times of the evidence are left out on purpose (their semantics may change).
 */
import { describe, expect, it } from 'vitest'
import { runEventExample } from '../../src/detection/examples.js'
import type { RuleExample } from '../../src/detection/rule.js'
import { crossAudienceReplay } from '../../src/detection/rules/cross-audience-replay.js'
import { API, MCP, at, exampleEvents, token } from '../../src/detection/rules/lib/example-events.js'

type Fields = Record<string, unknown>
const ev = exampleEvents('mutation-cross-audience')
const run = (events: Fields[]) =>
  runEventExample(crossAudienceReplay, { name: 't', fires: true, events } as RuleExample)
const atApi = (s: number, decision: 'accepted' | 'rejected', o: Fields = {}) =>
  ev.presented({
    occurred_at: at(s),
    source: { kind: 'resource_server', id: 'api' },
    resource: API,
    decision,
    reason: decision === 'accepted' ? 'ok' : 'aud_mismatch',
    ...o,
  })
const atMcp = (s: number, o: Fields = {}) => ev.presented({ occurred_at: at(s), ...o })

describe('cross-audience-replay', () => {
  it('reports each presentation outside the audience once: high while refused, critical once accepted there', () => {
    const found = run([
      ev.issued(),
      atMcp(5),
      atApi(10, 'rejected'),
      atApi(20, 'rejected'),
      atApi(30, 'accepted'),
      atApi(40, 'accepted'),
      atMcp(50),
    ])
    // One occurrence per replay (docs/api.md, Counts): the legitimate uses inside the audience
    // (at 5 and 50) are never counted.
    expect(found.map((d) => [d.keys.resource, d.severity])).toEqual([
      [API, 'high'],
      [API, 'high'],
      [API, 'critical'],
      [API, 'critical'],
    ])
    expect(found.every((d) => d.eventIds.length === 1)).toBe(true)
    expect(new Set(found.flatMap((d) => d.eventIds)).size).toBe(4)
    // The escalation's evidence lists both resources, the outside one as such.
    const escalation = found[2]!
    const timeline = escalation.evidence.presentations as Fields[]
    expect(timeline.map((p) => [p.resource, p.outside_audience, p.accepted])).toEqual([
      [MCP, false, true],
      [API, true, false],
    ])
    expect(escalation.evidence).toMatchObject({ outside_resource: API, accepted_outside: true })
  })

  it('is not a replay at a single resource outside the audience (the aud-mismatch rules see it)', () => {
    expect(run([ev.issued(), atApi(10, 'rejected'), atApi(20, 'accepted')])).toEqual([])
  })

  it("judges by the AS's issued audience, not by what the presented token claims", () => {
    const claims = { token: token({ aud: [MCP, API] }), presented_aud: [MCP, API] }
    const found = run([ev.issued(), atMcp(5, claims), atApi(10, 'accepted', claims)])
    expect(found.map((d) => d.keys.resource)).toEqual([API])
  })

  it('does not judge a token whose audience nobody recorded (opaque, no issuance)', () => {
    const { aud: _, ...noAud } = token()
    const opaque = { token: noAud, presented_aud: [] }
    expect(run([atMcp(5, opaque), atApi(10, 'accepted', opaque)])).toEqual([])
  })

  it("takes the audience from the row when none was recorded before (an opaque token's first uses)", () => {
    const { aud: _, ...noAud } = token()
    const opaque = { token: noAud, presented_aud: [] }
    const fromToken = run([atApi(5, 'accepted', opaque), atMcp(10, { presented_aud: [] })])
    expect(fromToken.map((d) => [d.keys.resource, d.severity])).toEqual([[API, 'critical']])
    const fromPresented = run([
      atApi(5, 'accepted', opaque),
      atMcp(10, { token: noAud, presented_aud: [MCP] }),
    ])
    expect(fromPresented.map((d) => d.keys.resource)).toEqual([API])
  })

  it('does not read events other than presentations', () => {
    const found = run([
      ev.issued(),
      atMcp(5),
      ev.exchanged({ occurred_at: at(8), subject_token: { jti: 'at-1' }, token: token() }),
    ])
    expect(found).toEqual([])
  })
})
