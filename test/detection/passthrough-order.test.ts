/**
 * token-passthrough whatever the order of arrival: the MCP server's own event and the downstream
 * API's event of one passthrough are delivered both ways (a server that logs after answering
 * records its use after its downstream call), and the rule decides the same.
 */
import { describe, expect, it } from 'vitest'
import { runEventExample } from '../../src/detection/examples.js'
import type { RuleExample } from '../../src/detection/rule.js'
import { tokenPassthrough } from '../../src/detection/rules/token-passthrough.js'
import { API, MCP, at, exampleEvents, token } from '../../src/detection/rules/lib/example-events.js'

type Fields = Record<string, unknown>

const ev = exampleEvents('passthrough-order')
const SERVER_IP = '198.51.100.20'
const CLIENT_IP = '203.0.113.7'

/** The token at the API `s` seconds in, from `network`, with `decision`. */
const atApi = (s: number, network: Fields, decision: 'accepted' | 'rejected' = 'rejected') =>
  ev.presented({
    occurred_at: at(s),
    source: { kind: 'resource_server', id: 'api' },
    resource: API,
    decision,
    reason: decision === 'accepted' ? 'ok' : 'aud_mismatch',
    network,
  })
const atServer = (s: number) => ev.presented({ occurred_at: at(s), network: { ip: CLIENT_IP } })

/** Both orders of arrival of `server` and `downstream`, after the issuance. */
function bothOrders(server: Fields, downstream: Fields, params: Fields, before: Fields[] = []) {
  const run = (events: Fields[]) =>
    runEventExample(tokenPassthrough, {
      name: 'order',
      fires: true,
      params,
      events: [ev.issued(), ...before, ...events],
    } as RuleExample).map((d) => ({
      keys: d.keys,
      severity: d.severity,
      basis: d.evidence.basis,
      eventIds: [...d.eventIds].sort(),
    }))
  return { serverFirst: run([server, downstream]), downstreamFirst: run([downstream, server]) }
}

const byAgent = { serverUserAgents: { [MCP]: ['files-mcp/'] } }
const byAddress = { serverAddresses: { [MCP]: ['198.51.100.0/24'] } }
const inferred = { inferFromNetwork: true }
const keys = { token_key: expect.any(String), server: MCP, resource: API }

describe('token-passthrough, either order of arrival', () => {
  it.each([
    ['its user agent', byAgent, { ip: '203.0.113.200', user_agent: 'files-mcp/1.4 undici' }],
    ['its configured address', byAddress, { ip: SERVER_IP }],
    [
      'a network the client never used, within the window (inferFromNetwork)',
      inferred,
      {
        ip: SERVER_IP,
      },
    ],
  ])('finds the passthrough identified by %s both ways', (_, params, network) => {
    // The server logs after answering: its event says 8 s, its downstream call 6 s.
    const { serverFirst, downstreamFirst } = bothOrders(atServer(8), atApi(6, network), params)
    expect(serverFirst).toHaveLength(1)
    expect(serverFirst[0]).toMatchObject({ keys, severity: 'high' })
    expect(downstreamFirst).toEqual(serverFirst)
  })

  it('escalates to critical both ways when the API accepted the token', () => {
    const { serverFirst, downstreamFirst } = bothOrders(
      atServer(8),
      atApi(6, { ip: SERVER_IP }, 'accepted'),
      byAddress,
    )
    expect(serverFirst.map((d) => d.severity)).toEqual(['critical'])
    expect(downstreamFirst).toEqual(serverFirst)
  })

  it('stays quiet both ways on a client replaying its own token from its own address', () => {
    const { serverFirst, downstreamFirst } = bothOrders(
      atServer(8),
      atApi(6, { ip: CLIENT_IP, user_agent: 'files-mcp/1.4' }),
      byAgent,
    )
    expect(serverFirst).toEqual([])
    expect(downstreamFirst).toEqual([])
  })

  it('stays quiet both ways when the configured address does not match', () => {
    const { serverFirst, downstreamFirst } = bothOrders(atServer(8), atApi(6, { ip: SERVER_IP }), {
      serverAddresses: { [MCP]: ['192.0.2.0/24'] },
    })
    expect(serverFirst).toEqual([])
    expect(downstreamFirst).toEqual([])
  })

  it('stays quiet both ways when the server exchanged the token for the API first', () => {
    const exchanged = ev.exchanged({
      occurred_at: at(4),
      client_id: 'files-mcp',
      actor: { client_id: 'files-mcp' },
      network: { ip: SERVER_IP },
    })
    const { serverFirst, downstreamFirst } = bothOrders(
      atServer(8),
      atApi(6, { ip: SERVER_IP }),
      byAddress,
      [exchanged],
    )
    expect(serverFirst).toEqual([])
    expect(downstreamFirst).toEqual([])
  })

  it('judges a downstream use received first only within windowS of the server use', () => {
    const long = token({ exp: 1_800_000_000 })
    const server = ev.presented({ occurred_at: at(4000), token: long })
    const early = { ...atApi(6, { ip: SERVER_IP }), token: long }
    const run = (windowS: number) =>
      runEventExample(tokenPassthrough, {
        name: 'window',
        fires: false,
        params: { ...byAddress, windowS },
        events: [ev.issued({ token: long }), early, server],
      } as RuleExample)
    expect(run(300)).toEqual([])
    expect(run(4000).map((d) => d.keys.resource)).toEqual([API])
  })

  it('stays quiet when the server refused the token (no use of its own to pass on)', () => {
    const refused = ev.presented({
      occurred_at: at(8),
      decision: 'rejected',
      reason: 'other',
    })
    const { serverFirst, downstreamFirst } = bothOrders(
      refused,
      atApi(6, { ip: SERVER_IP }),
      byAddress,
    )
    expect(serverFirst).toEqual([])
    expect(downstreamFirst).toEqual([])
  })
})
