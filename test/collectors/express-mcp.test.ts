import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createEmitter } from '../../src/collectors/emitter/index.js'
import { audtrailExpress, type ExpressCollectorOptions } from '../../src/collectors/express.js'
import { fingerprintToken } from '../../src/events/fingerprint.js'
import { listen, mcpApp, mcpSession, sep2243Fetch, type Listening } from './rs/mcp-peer.js'
import {
  capturedLogger,
  ISSUER,
  mint,
  signingKey,
  TestEmitter,
  type SigningKey,
} from './rs/fixtures.js'

const MCP = 'https://mcp-a.example/mcp'
const METADATA = 'https://mcp-a.example/.well-known/oauth-protected-resource/mcp'
let key: SigningKey
let servers: Listening[] = []

beforeAll(async () => {
  key = await signingKey('k1')
})
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()))
  servers = []
})

async function mcp(
  options: Partial<ExpressCollectorOptions> = {},
  app: { json?: boolean; maxHeaderSize?: number } = {},
) {
  const emitter = new TestEmitter()
  const { logger, lines } = capturedLogger()
  const collector = audtrailExpress({
    resource: MCP,
    issuer: ISSUER,
    jwks: { keys: [key.publicJwk] },
    mode: 'enforce',
    emitter,
    source: { kind: 'mcp_server', id: 'mcp-a' },
    protectedResourceMetadata: true,
    protect: '/mcp',
    logger,
    ...options,
  })
  const server = await listen(mcpApp(collector, app), app.maxHeaderSize)
  servers.push(server)
  return { url: server.url, emitter, lines }
}

const post = (url: string, token: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify(body),
  })

describe('the Express collector in front of an MCP SDK server', () => {
  it('records initialize, tools/list and tools/call of a real MCP client, tool by tool', async () => {
    const { url, emitter, lines } = await mcp()
    const token = await mint({ key, claims: { aud: MCP, jti: 'mcp-jti-1' } })
    const result = await mcpSession(url, token)
    expect(result).toEqual({ tools: ['echo', 'whoami'], echo: 'hello', whoami: 'agent-1' })
    expect(emitter.invalid).toEqual([])
    const posts = emitter.events.filter((e) => e.http?.method === 'POST')
    expect(posts.map((e) => [e.tool?.method, e.tool?.name])).toEqual([
      ['initialize', undefined],
      ['notifications/initialized', undefined],
      ['tools/list', undefined],
      ['tools/call', 'echo'],
      ['tools/call', 'whoami'],
    ])
    for (const event of emitter.events) {
      expect(event).toMatchObject({
        source: { kind: 'mcp_server', id: 'mcp-a' },
        resource: MCP,
        presented_aud: [MCP],
        decision: 'accepted',
        reason: 'ok',
        aud_validated: true,
        client_id: 'agent-1',
        token: { jti: 'mcp-jti-1', fingerprint: fingerprintToken(token) },
        http: { path: '/mcp' },
      })
    }
    // The stateless server answers the client's GET (SSE stream) with 405: still a presentation.
    expect(
      emitter.events.filter((e) => e.http?.method === 'GET').map((e) => e.http?.status),
    ).toEqual(expect.arrayContaining([405]))
    expect(JSON.stringify(emitter.raw) + lines.join('')).not.toContain(token)
  })

  it('rejects a token minted for another resource before the MCP server sees it', async () => {
    const { url, emitter } = await mcp()
    const token = await mint({ key, claims: { aud: 'https://api-b.example' } })
    await expect(mcpSession(url, token)).rejects.toThrow()
    const res = await post(url, token, {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo' },
    })
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer error="invalid_token", error_description="The access token was not issued for this resource", resource_metadata="${METADATA}"`,
    )
    expect(emitter.events.at(-1)).toMatchObject({
      decision: 'rejected',
      reason: 'aud_mismatch',
      presented_aud: ['https://api-b.example'],
      tool: { method: 'tools/call', name: 'echo' },
    })
  })

  it('records SEP-2243 Mcp-Method and Mcp-Name headers next to the body, mismatches included', async () => {
    const { url, emitter } = await mcp()
    const token = await mint({ key, claims: { aud: MCP } })
    await mcpSession(url, token, sep2243Fetch())
    const calls = emitter.events.filter((e) => e.tool?.method === 'tools/call')
    expect(calls.map((e) => e.tool)).toEqual([
      { method: 'tools/call', name: 'echo', header_method: 'tools/call', header_name: 'echo' },
      { method: 'tools/call', name: 'whoami', header_method: 'tools/call', header_name: 'whoami' },
    ])
    emitter.events.length = 0
    await mcpSession(url, token, sep2243Fetch('read_only_tool'))
    expect(emitter.events.find((e) => e.tool?.name === 'echo')?.tool).toEqual({
      method: 'tools/call',
      name: 'echo',
      header_method: 'tools/call',
      header_name: 'read_only_tool',
    })
  })

  it('records a JSON-RPC batch as one event with every method and tool', async () => {
    const { url, emitter } = await mcp()
    const token = await mint({ key, claims: { aud: MCP } })
    await post(url, token, [
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      {
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'echo', arguments: { text: 'a' } },
      },
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'whoami' } },
    ])
    expect(emitter.events).toHaveLength(1)
    expect(emitter.events[0]).toMatchObject({
      tool: { method: 'tools/call', name: 'echo' },
      attributes: {
        jsonrpc_methods: ['tools/list', 'tools/call', 'tools/call'],
        jsonrpc_tools: ['echo', 'whoami'],
        jsonrpc_batch_size: 3,
      },
    })
  })

  it('never consumes the request body: an SDK reading the stream itself still works', async () => {
    const { url, emitter } = await mcp({}, { json: false })
    const token = await mint({ key, claims: { aud: MCP } })
    const result = await mcpSession(url, token, sep2243Fetch())
    expect(result.echo).toBe('hello')
    const call = emitter.events.find((e) => e.tool?.header_name === 'echo')
    // No parsed body to read: only the headers describe the call.
    expect(call?.tool).toEqual({ header_method: 'tools/call', header_name: 'echo' })
  })

  it('serves the path-suffixed RFC 9728 document the MCP authorization spec looks for', async () => {
    const { url, emitter } = await mcp({ requiredScopes: ['tools:call'] })
    const res = await fetch(`${url}/.well-known/oauth-protected-resource/mcp`)
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(await res.json()).toEqual({
      resource: MCP,
      authorization_servers: [ISSUER],
      bearer_methods_supported: ['header'],
      scopes_supported: ['tools:call'],
    })
    const challenge = await fetch(`${url}/mcp`, { method: 'POST' })
    expect(challenge.status).toBe(401)
    expect(challenge.headers.get('www-authenticate')).toBe(
      `Bearer scope="tools:call", resource_metadata="${METADATA}"`,
    )
    expect(emitter.events.map((e) => e.reason)).toEqual(['missing_token'])
  })

  it('keeps serving through a throwing emitter, a malformed token and a huge header', async () => {
    const { url, emitter, lines } = await mcp({}, { maxHeaderSize: 512 * 1024 })
    const token = await mint({ key, claims: { aud: MCP } })
    const huge = 'A'.repeat(200_000)
    expect((await post(url, huge, { jsonrpc: '2.0', id: 1, method: 'ping' })).status).toBe(401)
    expect((await post(url, 'e30.e30.x', { jsonrpc: '2.0', id: 1, method: 'ping' })).status).toBe(
      401,
    )
    emitter.throws = true
    expect((await mcpSession(url, token)).echo).toBe('hello')
    expect(emitter.raw.map((e) => ('reason' in e ? e.reason : undefined))).toEqual([
      'malformed',
      'malformed',
    ])
    expect(lines.join('')).toContain('emit_failed')
    for (const t of [token, huge])
      expect(lines.join('') + JSON.stringify(emitter.raw)).not.toContain(t)
  })

  it('keeps serving when the transport of the real emitter throws on every send', async () => {
    const emitter = createEmitter({
      transport: {
        name: 'broken',
        send() {
          throw new Error('broker on fire')
        },
        async close() {},
      },
      flushIntervalMs: 5,
      retryInitialMs: 5,
      closeTimeoutMs: 200,
      closeOnExit: false,
    })
    const { url } = await mcp({ emitter })
    const token = await mint({ key, claims: { aud: MCP } })
    expect((await mcpSession(url, token)).echo).toBe('hello')
    expect((await mcpSession(url, token)).whoami).toBe('agent-1')
    await emitter.close()
    expect(emitter.stats().emitted).toBeGreaterThanOrEqual(10)
    expect(emitter.stats().sent).toBe(0)
  })

  it('works as plain Node middleware without Express', async () => {
    const emitter = new TestEmitter()
    const collector = audtrailExpress({ resource: MCP, issuer: ISSUER, mode: 'observe', emitter })
    const server = await listen((req, res) =>
      collector(req, res, () => {
        res.statusCode = req.headers.authorization ? 200 : 401
        res.end('done')
      }),
    )
    servers.push(server)
    const token = await mint({ key, claims: { aud: 'https://api-b.example' } })
    const res = await fetch(`${server.url}/tools?x=1`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(await res.text()).toBe('done')
    expect(emitter.events[0]).toMatchObject({
      decision: 'accepted',
      aud_validated: false,
      presented_aud: ['https://api-b.example'],
      http: { method: 'GET', path: '/tools', status: 200 },
      network: { ip: '127.0.0.1' },
      source: { kind: 'resource_server', id: MCP },
    })
  })
})
