/**
 * token-passthrough: what the mutation run of 2026-12-08 found untested (docs/design/mutation.md;
 * the earlier tests are mutation-rules-passthrough.test.ts and passthrough-order.test.ts). The
 * finding made when the server's own use arrives after the downstream one, the edges of windowS
 * both ways, a downstream resource seen before, the registry's kind of the server. In memory.
 */
import { describe, expect, it } from 'vitest'
import { runEventExample } from '../../src/detection/examples.js'
import type { RuleExample } from '../../src/detection/rule.js'
import { tokenPassthrough } from '../../src/detection/rules/token-passthrough.js'
import { API, MCP, at, exampleEvents, token } from '../../src/detection/rules/lib/example-events.js'

type Fields = Record<string, unknown>
const ev = exampleEvents('mutation-passthrough-survivors')
const SERVER_IP = '198.51.100.20'
const CLIENT_IP = '203.0.113.7'
/** A token that stays valid for the long windows below. */
const LONG = token({ exp: 1_800_000_000 })
const byAddress = { serverAddresses: { [MCP]: ['198.51.100.0/24'] } }
const inferred = { inferFromNetwork: true }

const run = (events: Fields[], params: Fields = byAddress, registry?: Fields[]) =>
  runEventExample(tokenPassthrough, {
    name: 't',
    fires: true,
    params,
    ...(registry && { registry }),
    events: [ev.issued({ token: LONG }), ...events],
  } as RuleExample)
/** The client's use at the MCP server, `s` seconds in. */
const atServer = (s: number, o: Fields = {}) =>
  ev.presented({ occurred_at: at(s), token: LONG, network: { ip: CLIENT_IP }, ...o })
/** The token at the API, `s` seconds in, from `network`. */
const atApi = (
  s: number,
  network: Fields = { ip: SERVER_IP },
  decision: 'accepted' | 'rejected' = 'rejected',
) =>
  ev.presented({
    occurred_at: at(s),
    token: LONG,
    source: { kind: 'resource_server', id: 'api' },
    resource: API,
    decision,
    reason: decision === 'accepted' ? 'ok' : 'aud_mismatch',
    network,
  })

describe('token-passthrough: the server use received after the downstream one', () => {
  it('says which server, on what basis, what the API decided and where the token came from', () => {
    const api = atApi(6, { ip: SERVER_IP, user_agent: 'files-mcp/1.4' }, 'accepted')
    const server = atServer(8)
    const found = run([api, server])
    expect(found).toHaveLength(1)
    const [d] = found
    expect(d!.severity).toBe('critical')
    expect(d!.keys).toMatchObject({ server: MCP, resource: API })
    expect(d!.eventIds).toEqual([api.event_id, server.event_id])
    expect(d!.evidence).toEqual({
      audience: [MCP],
      server: MCP,
      basis: 'server_address',
      server_client_addresses: [CLIENT_IP],
      server_last_accepted: at(8),
      exchanged_for: [],
      accepted_downstream: true,
      downstream: {
        resource: API,
        first_seen: at(6),
        addresses: [SERVER_IP],
        user_agents: ['files-mcp/1.4'],
      },
      current: expect.objectContaining({ resource: MCP, decision: 'accepted' }),
    })
  })

  it("leaves out every address the client used at the server before, not only this use's", () => {
    // The client came from SERVER_IP earlier; the downstream use from there is the client's own.
    const found = run([atServer(2, { network: { ip: SERVER_IP } }), atApi(6), atServer(8)])
    expect(found).toEqual([])
  })

  it('judges downstream uses within windowS before and after it, edges included', () => {
    const judged = (apiS: number, serverS: number) =>
      run([atApi(apiS), atServer(serverS)], { ...byAddress, windowS: 100 }).length
    expect(judged(1000, 1100)).toBe(1)
    expect(judged(999, 1100)).toBe(0)
    expect(judged(1100, 1000)).toBe(1)
    expect(judged(1101, 1000)).toBe(0)
  })

  it('stays quiet when the server refused the token, or is no audience of it', () => {
    expect(run([atApi(6), atServer(8, { decision: 'rejected', reason: 'other' })])).toEqual([])
    expect(run([atApi(6), atServer(8)], byAddress, [{ resource: MCP, kind: 'api' }])).toEqual([])
    expect(run([atApi(6), atServer(8)], byAddress, [{ resource: MCP, kind: 'mcp' }])).toHaveLength(
      1,
    )
  })
})

describe('token-passthrough: the downstream use received after the server one', () => {
  it('infers the server within windowS before the server use too, edge included', () => {
    const judged = (apiS: number) =>
      run([atServer(1000), atApi(apiS)], { ...inferred, windowS: 100 }).length
    expect(judged(900)).toBe(1)
    expect(judged(899)).toBe(0)
  })

  it('reports a downstream resource once while refused, again once it accepts, then no more', () => {
    const found = run([
      atServer(5),
      atApi(6),
      atApi(7),
      atApi(8, { ip: SERVER_IP }, 'accepted'),
      atApi(9, { ip: SERVER_IP }, 'accepted'),
    ])
    expect(found.map((d) => d.severity)).toEqual(['high', 'critical'])
  })

  it('judges a server only when the registry lets it be an MCP server', () => {
    const events = [atServer(5), atApi(6)]
    expect(run(events, byAddress, [{ resource: MCP, kind: 'api' }])).toEqual([])
    expect(run(events, byAddress, [{ resource: MCP, kind: 'mcp' }])).toHaveLength(1)
  })
})

describe('token-passthrough: what identifies the server', () => {
  /** The client at the server from CLIENT_IP, then the token at the API from `network`. */
  const fires = (network: Fields, params: Fields) =>
    run([atServer(5), atApi(6, network)], params).length > 0

  it('a configured list of one resource says nothing about another', () => {
    const other = { serverAddresses: { 'https://other.example.com/mcp': ['198.51.100.0/24'] } }
    expect(fires({ ip: SERVER_IP }, other)).toBe(false)
  })

  it('any one of the configured user agent texts, in any one of the user agents of a use', () => {
    const agents = { serverUserAgents: { [MCP]: ['other-mcp/', 'files-mcp/'] } }
    expect(fires({ ip: '203.0.113.200', user_agent: 'files-mcp/1.4' }, agents)).toBe(true)
    // The server's use received last: the use at the API holds both user agents it came with.
    const api1 = atApi(6, { ip: '203.0.113.200', user_agent: 'curl/8' })
    const api2 = atApi(7, { ip: '203.0.113.201', user_agent: 'files-mcp/1.4' })
    const found = run([api1, api2, atServer(8)], { serverUserAgents: { [MCP]: ['files-mcp/'] } })
    expect(found.map((d) => d.evidence.basis)).toEqual(['server_user_agent'])
  })

  it('a use that sent no user agent matches no configured text, however short', () => {
    expect(fires({ ip: '203.0.113.200' }, { serverUserAgents: { [MCP]: ['a', 'e'] } })).toBe(false)
  })

  it('any one of the addresses of a use in the configured list', () => {
    const found = run([atApi(6, { ip: '192.0.2.5' }), atApi(7), atServer(8)])
    expect(found.map((d) => [d.evidence.basis, d.evidence.downstream])).toEqual([
      ['server_address', expect.objectContaining({ addresses: ['192.0.2.5', SERVER_IP] })],
    ])
  })

  it('inferred from any one address of a use outside the client networks', () => {
    const found = run([atApi(6, { ip: '203.0.113.99' }), atApi(7), atServer(8)], inferred)
    expect(found.map((d) => d.evidence.basis)).toEqual(['other_network_after_server_use'])
    const direct = run([atServer(5), atApi(6)], inferred)
    expect(direct.map((d) => d.evidence.basis)).toEqual(['other_network_after_server_use'])
  })

  it('infers nothing from a use with no address, nor for a server use with no address, in either order', () => {
    // No address at the API: no network to call new.
    expect(fires({ user_agent: 'files-mcp/1.4' }, inferred)).toBe(false)
    // No address at the server: the client's networks are unknown.
    const noAddress = atServer(5, { network: undefined })
    expect(run([noAddress, atApi(6)], inferred)).toEqual([])
    expect(run([atApi(6), noAddress], inferred)).toEqual([])
  })

  it('IPv6: an address spelled with a leading or an inner :: is its full spelling', () => {
    const sameNetwork = (client: string, ip: string, prefix: number) =>
      run([atServer(5, { network: { ip: client } }), atApi(6, { ip })], {
        ...inferred,
        clientPrefixV6: prefix,
      }).length === 0
    expect(sameNetwork('::1', '0:0:0:0:0:0:0:2', 120)).toBe(true)
    expect(sameNetwork('2001:db8::1:2', '2001:db8:0:0:0:0:1:2', 128)).toBe(true)
    expect(sameNetwork('2001:db8::1:2', '2001:db8:0:0:0:0:1:3', 128)).toBe(false)
  })
})

describe('token-passthrough: what is judged at all', () => {
  it('a token seen for the first time at the API (no state, no audience yet)', () => {
    const alone = runEventExample(tokenPassthrough, {
      name: 't',
      fires: true,
      params: byAddress,
      events: [atApi(6)],
    } as RuleExample)
    expect(alone).toEqual([])
  })

  it('an issuance delivered late, from a network the client never used at the server, is no use', () => {
    const late = ev.issued({ occurred_at: at(1), token: LONG, network: { ip: '192.0.2.50' } })
    const found = runEventExample(tokenPassthrough, {
      name: 't',
      fires: true,
      params: inferred,
      events: [ev.issued({ token: LONG }), atServer(5), late],
    } as RuleExample)
    expect(found).toEqual([])
  })

  it('a resource outside the audience that accepted the token is not a server passing it on', () => {
    const other = ev.presented({
      occurred_at: at(5),
      token: LONG,
      source: { kind: 'resource_server', id: 'other' },
      resource: 'https://other.example.com/api',
      network: { ip: CLIENT_IP },
    })
    expect(run([other, atApi(6)], inferred)).toEqual([])
  })

  it('a use at another resource of its audience is no passthrough, in either order', () => {
    const MCP2 = 'https://mcp2.example.com/mcp'
    const two = token({ exp: 1_800_000_000, aud: [MCP, MCP2] })
    const atMcp2 = ev.presented({
      occurred_at: at(6),
      token: two,
      resource: MCP2,
      presented_aud: [MCP, MCP2],
      network: { ip: SERVER_IP },
    })
    const atMcp = atServer(8, { token: two, presented_aud: [MCP, MCP2] })
    for (const events of [
      [atMcp2, atMcp],
      [atMcp, atMcp2],
    ])
      expect(
        runEventExample(tokenPassthrough, {
          name: 't',
          fires: true,
          params: byAddress,
          events: [ev.issued({ token: two, granted_aud: [MCP, MCP2] }), ...events],
        } as RuleExample),
      ).toEqual([])
  })
})
