/**
 * token-passthrough: where one client network ends (the prefixes of `inferFromNetwork`), the
 * configured identities of a server, and what a finding says (mutation runs,
 * docs/design/mutation.md; the order of arrival is in passthrough-order.test.ts). In memory.
 */
import { describe, expect, it } from 'vitest'
import { runEventExample } from '../../src/detection/examples.js'
import type { RuleExample } from '../../src/detection/rule.js'
import { tokenPassthrough } from '../../src/detection/rules/token-passthrough.js'
import { API, MCP, at, exampleEvents } from '../../src/detection/rules/lib/example-events.js'

type Fields = Record<string, unknown>
const ev = exampleEvents('mutation-passthrough')

/** The client's use at the server (from `clientIp`), then the token at the API from `network`. */
function passthrough(clientIp: string, network: Fields, params: Fields, decision = 'rejected') {
  const server = ev.presented({ occurred_at: at(5), network: { ip: clientIp } })
  const api = ev.presented({
    occurred_at: at(6),
    source: { kind: 'resource_server', id: 'api' },
    resource: API,
    decision,
    reason: decision === 'accepted' ? 'ok' : 'aud_mismatch',
    network,
  })
  const events = [ev.issued(), server, api]
  return {
    server,
    api,
    found: runEventExample(tokenPassthrough, {
      name: 't',
      fires: true,
      params,
      events,
    } as RuleExample),
  }
}
const inferred = (more: Fields = {}) => ({ inferFromNetwork: true, ...more })
const fires = (clientIp: string, ip: string, params: Fields) =>
  passthrough(clientIp, { ip }, params).found.length > 0

describe('token-passthrough: client networks (inferFromNetwork)', () => {
  it('IPv4: the same /24 is the client, another is not; the prefix is a parameter', () => {
    expect(fires('203.0.113.7', '203.0.113.250', inferred())).toBe(false)
    expect(fires('203.0.113.7', '203.0.114.1', inferred())).toBe(true)
    expect(fires('203.0.113.7', '203.0.114.1', inferred({ clientPrefixV4: 16 }))).toBe(false)
    expect(fires('203.0.113.7', '203.0.113.8', inferred({ clientPrefixV4: 32 }))).toBe(true)
    expect(fires('203.0.113.7', '203.0.113.7', inferred({ clientPrefixV4: 32 }))).toBe(false)
    expect(fires('203.0.113.7', '203.0.113.129', inferred({ clientPrefixV4: 25 }))).toBe(true)
    expect(fires('203.0.113.7', '203.0.113.127', inferred({ clientPrefixV4: 25 }))).toBe(false)
  })

  it('IPv6: the same /56 is the client, expanded from any spelling', () => {
    expect(fires('2001:db8:0:100::1', '2001:db8:0:1ff::2', inferred())).toBe(false)
    expect(fires('2001:db8:0:100::1', '2001:db8:0:200::1', inferred())).toBe(true)
    expect(fires('2001:db8::1', '2001:0db8:0000:0000:0000:0000:0000:0009', inferred())).toBe(false)
    expect(fires('2001:db8::1', '2001:db8:0:0:1::', inferred({ clientPrefixV6: 64 }))).toBe(false)
    expect(fires('2001:db8::1', '2001:db8:0:1::', inferred({ clientPrefixV6: 64 }))).toBe(true)
    expect(fires('::1', '::2', inferred({ clientPrefixV6: 120 }))).toBe(false)
    expect(fires('::1', '::1:0', inferred({ clientPrefixV6: 112 }))).toBe(true)
  })

  it('is off by default, and needs the use within windowS of the server accepting the token', () => {
    expect(tokenPassthrough.params.parse({})).toMatchObject({
      inferFromNetwork: false,
      windowS: 300,
      clientPrefixV4: 24,
      clientPrefixV6: 56,
      serverAddresses: {},
      serverUserAgents: {},
    })
    expect(fires('203.0.113.7', '198.51.100.20', {})).toBe(false)
    const late = (windowS: number) => {
      const server = ev.presented({ occurred_at: at(5), network: { ip: '203.0.113.7' } })
      const api = ev.presented({
        occurred_at: at(5 + 61),
        source: { kind: 'resource_server', id: 'api' },
        resource: API,
        decision: 'rejected',
        reason: 'aud_mismatch',
        network: { ip: '198.51.100.20' },
      })
      return runEventExample(tokenPassthrough, {
        name: 't',
        fires: true,
        params: inferred({ windowS }),
        events: [ev.issued(), server, api],
      } as RuleExample)
    }
    expect(late(61)).toHaveLength(1)
    expect(late(60)).toEqual([])
  })
})

describe('token-passthrough: configured identities', () => {
  it('an address list takes single addresses and subnets, both families, and ignores junk', () => {
    const by = (list: string[]) => ({ serverAddresses: { [MCP]: list } })
    expect(fires('203.0.113.7', '198.51.100.20', by(['198.51.100.20']))).toBe(true)
    expect(fires('203.0.113.7', '198.51.100.21', by(['198.51.100.20']))).toBe(false)
    expect(fires('203.0.113.7', '198.51.100.21', by(['junk', '198.51.100.16/28']))).toBe(true)
    expect(fires('203.0.113.7', '2001:db8::5', by(['2001:db8::/64']))).toBe(true)
    expect(fires('203.0.113.7', '2001:db9::5', by(['2001:db8::/64']))).toBe(false)
    // Configured under another spelling of the same resource.
    expect(
      fires('203.0.113.7', '198.51.100.20', {
        serverAddresses: { 'HTTPS://MCP.example.com/mcp': ['198.51.100.20'] },
      }),
    ).toBe(true)
    // A configured address list decides alone: no inference besides it.
    expect(
      fires('203.0.113.7', '198.51.100.20', { ...by(['192.0.2.1']), inferFromNetwork: true }),
    ).toBe(false)
  })

  it("a user agent containing the server's configured text", () => {
    const agents = { serverUserAgents: { [MCP]: ['files-mcp/'] } }
    const at = (ua: string) =>
      passthrough('203.0.113.7', { ip: '203.0.113.99', user_agent: ua }, agents).found
    expect(at('files-mcp/1.4 undici')).toHaveLength(1)
    expect(at('curl/8')).toEqual([])
    expect(at('files-mcp/1.4 undici')[0]!.evidence.basis).toBe('server_user_agent')
  })

  it("the client's own addresses at the server are never the server's", () => {
    expect(
      fires('198.51.100.20', '198.51.100.20', { serverAddresses: { [MCP]: ['198.51.100.0/24'] } }),
    ).toBe(false)
  })
})

describe('token-passthrough: the finding', () => {
  it('says which server, on what basis, and what the API decided', () => {
    const { server, api, found } = passthrough(
      '203.0.113.7',
      { ip: '198.51.100.20' },
      { serverAddresses: { [MCP]: ['198.51.100.0/24'] } },
      'accepted',
    )
    expect(found).toHaveLength(1)
    const [d] = found
    expect(d!.severity).toBe('critical')
    expect(d!.keys).toMatchObject({ server: MCP, resource: API })
    expect(d!.eventIds).toEqual([server.event_id, api.event_id])
    expect(d!.evidence).toMatchObject({
      audience: [MCP],
      server: MCP,
      basis: 'server_address',
      server_client_addresses: ['203.0.113.7'],
      server_last_accepted: at(5),
      exchanged_for: [],
      accepted_downstream: true,
      current: { resource: API, decision: 'accepted' },
    })
  })
})
