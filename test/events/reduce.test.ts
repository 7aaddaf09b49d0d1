import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { cleanText, cutAt } from '../../src/events/clean.js'
import { parseEvent } from '../../src/events/parse.js'
import { RAW_JWT_REMOVED } from '../../src/events/raw-token.js'
import { reduceEvent } from '../../src/events/reduce.js'

const JWT = 'eyJhbGciOiJub25lIn0.eyJ4IjoxfQ.'
const SIGNED = `eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.${'s'.repeat(40)}`
const PERCENT = SIGNED.replace(/e/g, '%65')

function presented(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema_version: 1,
    event_id: randomUUID(),
    event_type: 'token.presented',
    occurred_at: new Date().toISOString(),
    tenant: 't1',
    source: { kind: 'mcp_server', id: 'files' },
    resource: 'https://mcp.example/mcp',
    presented_aud: [],
    aud_validated: true,
    decision: 'rejected',
    reason: 'missing_token',
    http: { method: 'POST', path: '/mcp' },
    ...extra,
  }
}

function expectReduced(input: unknown, paths: string[]) {
  const result = reduceEvent(input)
  if (!result.ok) throw new Error(result.reasons.join('; '))
  expect(parseEvent(result.event).ok).toBe(true)
  const json = JSON.stringify(result.event)
  for (const secret of [SIGNED.slice(0, 30), SIGNED.slice(-30), JWT.slice(0, 19)])
    expect(json).not.toContain(secret)
  for (const p of paths) expect(result.event.attributes?.reduced).toContain(p)
  return result.event as Record<string, unknown> & { attributes: Record<string, unknown> }
}

describe('cleanText', () => {
  it('cuts raw JWTs (also percent-escaped), replaces lone surrogates and control characters', () => {
    expect(cleanText(`curl/8 ${JWT}`, 100)).toBe(`curl/8 ${RAW_JWT_REMOVED}`)
    expect(cleanText(`/t/${PERCENT}`, 4096)).toBe(RAW_JWT_REMOVED)
    expect(cleanText('a\ud800b\udc00c', 10)).toBe('a\ufffdb\ufffdc')
    expect(cleanText('a\u0000b\u007f', 10)).toBe('a\ufffdb\ufffd')
  })

  it('never ends in half a surrogate pair, wherever the cut falls', () => {
    const emoji = '😀'.repeat(10)
    for (let max = 1; max <= 20; max++) {
      const out = cutAt(emoji, max)
      expect(out.length).toBeLessThanOrEqual(max)
      expect(out.length % 2).toBe(0)
      expect(cleanText(`x${emoji}`, max)).not.toMatch(/[\ud800-\udbff]$/)
    }
  })
})

describe('reduceEvent', () => {
  it('keeps a request whose user agent, tool name and path carry JWTs, cleaned and marked', () => {
    const event = expectReduced(
      presented({
        network: { user_agent: `curl/8 ${JWT}` },
        tool: { method: 'tools/call', name: SIGNED },
        http: { method: 'POST', path: `/mcp/${PERCENT}` },
      }),
      ['network.user_agent', 'tool.name', 'http.path'],
    )
    expect(event.network).toEqual({ user_agent: `curl/8 ${RAW_JWT_REMOVED}` })
    expect(event.decision).toBe('rejected')
  })

  it('replaces lone surrogates, cuts over-long strings and lists, removes empty ones', () => {
    const event = expectReduced(
      presented({
        tool: { name: 'a\ud800', method: '' },
        presented_aud: Array.from({ length: 100 }, (_, i) => `https://x${i}.example`),
        network: { user_agent: 'u'.repeat(5000) },
      }),
      ['tool.name', 'tool.method', 'presented_aud', 'network.user_agent'],
    )
    expect((event.presented_aud as string[]).length).toBe(64)
    expect((event.network as { user_agent: string }).user_agent.length).toBe(1024)
  })

  it('drops attributes, largest first, until they fit their bounds', () => {
    const event = expectReduced(
      presented({
        attributes: {
          collector_mode: 'enforce',
          jsonrpc_methods: Array.from({ length: 64 }, () => 'm'.repeat(256)),
          ...Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k${i}`, i])),
        },
      }),
      ['attributes.jsonrpc_methods'],
    )
    expect(event.attributes.collector_mode).toBe('enforce')
    expect(Object.keys(event.attributes).length).toBeLessThanOrEqual(64)
  })

  it('leaves out keys holding tokens, members whose getters throw, and anything too deep', () => {
    let deep: Record<string, unknown> = { leaf: 1 }
    for (let i = 0; i < 40; i++) deep = { d: deep }
    const hostile = new Proxy(
      { collector_mode: 'observe', boom: 1 },
      {
        get(target, key) {
          if (key === 'boom') throw new Error('hostile getter')
          return Reflect.get(target, key)
        },
      },
    )
    const event = expectReduced(presented({ attributes: hostile, network: { [SIGNED]: 'x' } }), [
      'attributes.boom',
      'network.(a key)',
    ])
    expect(event.attributes.collector_mode).toBe('observe')
    expectReduced(presented({ attributes: { deep } }), [])
  })

  it('fits the event within maxBytes, the marker included', () => {
    const input = presented({
      token: {
        fingerprint: 'f'.repeat(43),
        aud: Array.from({ length: 64 }, () => '語'.repeat(2048)),
      },
      reason: 'aud_mismatch',
      presented_aud: Array.from({ length: 64 }, () => '語'.repeat(2048)),
    })
    const result = reduceEvent(input, { maxBytes: 64 << 10 })
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(Buffer.byteLength(JSON.stringify(result.event))).toBeLessThanOrEqual(64 << 10)
    expect(result.event.attributes?.reduced).toContain('presented_aud')
    expect(result.event.token?.fingerprint).toBe('f'.repeat(43))
  })

  it('never invents the identity of an event: a refused type, tenant or decision stays refused', () => {
    for (const bad of [
      { event_type: 'token.stolen' },
      { tenant: '../other' },
      { decision: 'maybe' },
      { resource: '' },
      { source: { kind: 'nowhere', id: 'x' } },
    ]) {
      const result = reduceEvent(presented(bad))
      expect(result.ok).toBe(false)
    }
    expect(reduceEvent(null).ok).toBe(false)
    expect(reduceEvent('text').ok).toBe(false)
  })

  it('any string of a valid event, made hostile, still yields a valid event without the token', () => {
    const hostile = [
      `ua ${JWT}`,
      PERCENT,
      'x\ud800',
      '\u0000'.repeat(3),
      '',
      'é'.repeat(5000),
      `${'😀'.repeat(1100)}`,
    ]
    const base = presented({
      reason: 'aud_mismatch',
      decision: 'accepted',
      client_id: 'agent',
      subject: 'user',
      session_id: 'sess',
      issuer: 'https://as.example',
      token: { fingerprint: 'f'.repeat(43), jti: 'j', aud: ['https://a.example'], scopes: ['s'] },
      presented_aud: ['https://a.example'],
      tool: { method: 'tools/call', name: 'echo', header_method: 'm', header_name: 'n' },
      network: { user_agent: 'ua' },
      attributes: { jsonrpc_tools: ['echo'], mcp_session_id: 's1' },
    })
    const leaves: (string | number)[][] = [
      ['client_id'],
      ['subject'],
      ['session_id'],
      ['issuer'],
      ['token', 'jti'],
      ['token', 'aud', 0],
      ['token', 'scopes', 0],
      ['presented_aud', 0],
      ['tool', 'name'],
      ['tool', 'header_name'],
      ['network', 'user_agent'],
      ['http', 'path'],
      ['attributes', 'jsonrpc_tools', 0],
      ['attributes', 'mcp_session_id'],
    ]
    for (const path of leaves)
      for (const value of hostile) {
        const input = structuredClone(base)
        let node = input as Record<string | number, unknown>
        for (const p of path.slice(0, -1)) node = node[p] as Record<string | number, unknown>
        node[path[path.length - 1]!] = value
        const result = reduceEvent(input)
        expect(result.ok, `${path.join('.')} = ${value.slice(0, 20)}`).toBe(true)
        if (result.ok) {
          expect(parseEvent(result.event).ok).toBe(true)
          expect(JSON.stringify(result.event)).not.toContain(JWT.slice(0, 19))
        }
      }
  })
})
