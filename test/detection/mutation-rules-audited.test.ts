/**
 * The rules the outside audit named (issue 31), what their group's mutation run of 2026-12-08
 * found untested (docs/design/mutation.md): cross-audience-replay's reading of a resource outside
 * the audience that accepted the token before, and of several uses outside the audience seen
 * before the token reached its own server; missing-resource-indicator's granted
 * audience. In memory.
 */
import { describe, expect, it } from 'vitest'
import { runEventExample } from '../../src/detection/examples.js'
import type { RuleExample } from '../../src/detection/rule.js'
import { crossAudienceReplay } from '../../src/detection/rules/cross-audience-replay.js'
import { API, MCP, at, exampleEvents, token } from '../../src/detection/rules/lib/example-events.js'
import { missingResourceIndicator } from '../../src/detection/rules/missing-resource-indicator.js'

type Fields = Record<string, unknown>
const ev = exampleEvents('mutation-audited')
const replays = (events: Fields[]) =>
  runEventExample(crossAudienceReplay, { name: 't', fires: true, events } as RuleExample)
const atApi = (s: number, decision: 'accepted' | 'rejected') =>
  ev.presented({
    occurred_at: at(s),
    source: { kind: 'resource_server', id: 'api' },
    resource: API,
    decision,
    reason: decision === 'accepted' ? 'ok' : 'aud_mismatch',
  })
const atMcp = (s: number) => ev.presented({ occurred_at: at(s) })

describe('cross-audience-replay', () => {
  it('stays critical at a resource outside the audience that accepted the token before, also when it refuses it later', () => {
    const later = atApi(20, 'rejected')
    const found = replays([ev.issued(), atMcp(5), atApi(10, 'accepted'), later])
    expect(found.map((d) => [d.eventIds, d.severity, d.evidence.accepted_outside])).toEqual([
      [[expect.any(String)], 'critical', true],
      [[later.event_id], 'critical', true],
    ])
  })

  it('reports every use outside the audience seen before the token reached its own server', () => {
    const first = atApi(5, 'rejected')
    const second = atApi(10, 'rejected')
    const third = atApi(15, 'rejected')
    const found = replays([ev.issued(), first, second, third, atMcp(20)])
    // The first use at its time, the later ones at the latest's.
    expect(found.map((d) => [d.keys.resource, d.eventIds, d.at])).toEqual([
      [API, [first.event_id], Date.parse(at(5))],
      [API, [second.event_id, third.event_id], Date.parse(at(15))],
    ])
    expect(found.map((d) => d.severity)).toEqual(['high', 'high'])
  })
})

describe('missing-resource-indicator', () => {
  it('reports the audience the AS granted, not the one the token names, when both are known', () => {
    const found = runEventExample(missingResourceIndicator, {
      name: 't',
      fires: true,
      registry: [{ resource: API, kind: 'mcp' }],
      events: [
        ev.issued({ requested_resources: [], granted_aud: [API], token: token({ aud: [MCP] }) }),
      ],
    } as RuleExample)
    expect(
      found.map((d) => [d.evidence.granted_aud, d.evidence.mcp_audiences, d.severity]),
    ).toEqual([[[API], [API], 'high']])
  })
})
