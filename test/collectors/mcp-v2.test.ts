import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { audtrailExpress } from '../../src/collectors/express.js'
import { mcpUnvalidatedHeaders } from '../../src/detection/rules/mcp-unvalidated-headers.js'
import { parseEvent } from '../../src/events/parse.js'
import type { TokenPresentedEvent } from '../../src/events/schema.js'
import { toEventRow } from '../../src/events/event-row.js'
import { ISSUER, mint, signingKey, TestEmitter, type SigningKey } from './rs/fixtures.js'
import { listen, mcpApp, mcpSession, type Listening } from './rs/mcp-peer.js'
import { fastifyApis } from './rs/fastify-api.js'
import { mcpV2App, mcpV2FastifyRoute, mcpV2Session } from './rs/mcp-v2-peer.js'

// The collectors in front of MCP servers built on the SDK's v2 line (2026-07-28, no sessions)
// and on v1 (@modelcontextprotocol/sdk), with real clients of both lines.
const MCP = 'https://mcp-a.example/mcp'
const MODERN = '2026-07-28'
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
let key: SigningKey
let servers: Listening[] = []
const closers: (() => Promise<void>)[] = []

beforeAll(async () => {
  key = await signingKey('k1')
})
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()))
  await Promise.all(closers.splice(0).map((c) => c()))
  servers = []
})

function collector(emitter: TestEmitter) {
  return audtrailExpress({
    resource: MCP,
    issuer: ISSUER,
    jwks: { keys: [key.publicJwk] },
    mode: 'enforce',
    emitter,
    source: { kind: 'mcp_server', id: 'mcp-a' },
    protect: '/mcp',
  })
}

async function v2Server() {
  const emitter = new TestEmitter()
  const { app, close } = mcpV2App(collector(emitter))
  closers.push(close)
  const server = await listen(app)
  servers.push(server)
  return { url: server.url, emitter }
}

async function v1Server() {
  const emitter = new TestEmitter()
  const server = await listen(mcpApp(collector(emitter)))
  servers.push(server)
  return { url: server.url, emitter }
}

/** A 2026-07-28 `tools/call` as the spec's example writes it; `headers` replace the standard ones. */
function modernCall(
  url: string,
  token: string,
  headers: Record<string, string>,
  clientName = 'raw-client',
) {
  return fetch(`${url}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: {
        name: 'echo',
        arguments: { text: 'hi' },
        _meta: {
          'io.modelcontextprotocol/protocolVersion': MODERN,
          'io.modelcontextprotocol/clientInfo': { name: clientName, version: '0.1.0' },
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      },
    }),
  })
}

/** What mcp-unvalidated-headers says of one collected event. */
function judge(event: TokenPresentedEvent) {
  const parsed = parseEvent(JSON.parse(JSON.stringify(event)))
  if (!parsed.ok) throw new Error(parsed.reasons.join('; '))
  const row = toEventRow(parsed.event, { receivedAt: Date.now() })
  return mcpUnvalidatedHeaders.evaluate(row, undefined, {
    params: mcpUnvalidatedHeaders.params.parse({}),
  })
}

describe('the Express collector in front of an MCP SDK v2 server', () => {
  it('records a pinned 2026-07-28 v2 client: headers, _meta version and client, no session', async () => {
    const { url, emitter } = await v2Server()
    const token = await mint({ key, claims: { aud: MCP, jti: 'v2-jti-1' } })
    const result = await mcpV2Session(url, token, {
      modern: true,
      headers: { traceparent: TRACEPARENT },
    })
    expect(result).toEqual({ tools: ['echo', 'whoami'], echo: 'hello', whoami: 'agent-1' })
    expect(emitter.invalid).toEqual([])
    expect(emitter.events.map((e) => [e.tool?.method, e.tool?.name, e.http?.status])).toEqual([
      ['server/discover', undefined, 200],
      ['tools/list', undefined, 200],
      ['tools/call', 'echo', 200],
      ['tools/call', 'whoami', 200],
    ])
    for (const event of emitter.events) {
      expect(event).toMatchObject({
        decision: 'accepted',
        client_id: 'agent-1',
        token: { jti: 'v2-jti-1' },
        tool: { header_method: event.tool?.method },
        attributes: {
          mcp_protocol_version: MODERN,
          mcp_meta_protocol_version: MODERN,
          mcp_client: { name: 'audtrail-test-agent-v2', version: '2.0.0' },
          traceparent: TRACEPARENT,
        },
      })
      expect(event.attributes).not.toHaveProperty('mcp_session_id')
      expect(judge(event)).toEqual([])
    }
    expect(emitter.events.filter((e) => e.tool?.name).map((e) => e.tool?.header_name)).toEqual([
      'echo',
      'whoami',
    ])
  })

  it('records a v2 client on its legacy default (2025 handshake, stateless fallback)', async () => {
    const { url, emitter } = await v2Server()
    const token = await mint({ key, claims: { aud: MCP } })
    const result = await mcpV2Session(url, token, { modern: false })
    expect(result.whoami).toBe('agent-1')
    const posts = emitter.events.filter((e) => e.http?.method === 'POST')
    expect(posts.map((e) => e.tool?.method)).toEqual([
      'initialize',
      'notifications/initialized',
      'tools/list',
      'tools/call',
      'tools/call',
    ])
    for (const event of posts) {
      expect(event.attributes).not.toHaveProperty('mcp_meta_protocol_version')
      expect(judge(event)).toEqual([])
    }
  })

  it('a v1 client against the v2 server: recorded, nothing to flag', async () => {
    const { url, emitter } = await v2Server()
    const token = await mint({ key, claims: { aud: MCP } })
    expect((await mcpSession(url, token)).whoami).toBe('agent-1')
    expect(emitter.invalid).toEqual([])
    expect(emitter.events.filter((e) => judge(e).length > 0)).toEqual([])
  })

  it('the v2 server refuses a 2026-07-28 call without Mcp-Name (400, -32020): not flagged', async () => {
    const { url, emitter } = await v2Server()
    const token = await mint({ key, claims: { aud: MCP } })
    const res = await modernCall(url, token, {
      'mcp-protocol-version': MODERN,
      'mcp-method': 'tools/call',
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32020)
    const event = emitter.events.at(-1)!
    expect(event).toMatchObject({
      tool: { method: 'tools/call', name: 'echo', header_method: 'tools/call' },
      http: { status: 400 },
      attributes: { mcp_protocol_version: MODERN, mcp_client: { name: 'raw-client' } },
    })
    expect(event.tool).not.toHaveProperty('header_name')
    expect(judge(event)).toEqual([])
  })

  it('cuts the presented token from a client name that copies it, and says so', async () => {
    const { url, emitter } = await v2Server()
    const token = await mint({ key, claims: { aud: MCP } })
    const headers = {
      'mcp-protocol-version': MODERN,
      'mcp-method': 'tools/call',
      'mcp-name': 'echo',
    }
    expect((await modernCall(url, token, headers, `agent ${token}`)).status).toBe(200)
    const event = emitter.events.at(-1)!
    expect(JSON.stringify(emitter.raw)).not.toContain(token)
    expect(event.attributes?.mcp_client).toEqual({
      name: 'agent [raw JWT removed]',
      version: '0.1.0',
    })
    expect(event.attributes?.sanitized).toContain('attributes.mcp_client.name')
  })

  it('the v2 server refuses an Mcp-Name that disagrees with the body: not flagged', async () => {
    const { url, emitter } = await v2Server()
    const token = await mint({ key, claims: { aud: MCP } })
    const res = await modernCall(url, token, {
      'mcp-protocol-version': MODERN,
      'mcp-method': 'tools/call',
      'mcp-name': 'read_only',
    })
    expect(res.status).toBe(400)
    expect(judge(emitter.events.at(-1)!)).toEqual([])
  })
})

describe('the Fastify collector in front of an MCP SDK v2 server', () => {
  const apis = fastifyApis()
  afterEach(() => apis.closeAll())

  it('records a pinned 2026-07-28 v2 client tool by tool, as the Express collector does', async () => {
    let close: (() => Promise<void>) | undefined
    const { app, emitter } = await apis.api(
      key,
      { resource: MCP, source: { kind: 'mcp_server', id: 'mcp-f' } },
      (a) => {
        close = mcpV2FastifyRoute(a)
      },
    )
    closers.push(() => close!())
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    const token = await mint({ key, claims: { aud: MCP } })
    const result = await mcpV2Session(url, token, { modern: true })
    expect(result).toEqual({ tools: ['echo', 'whoami'], echo: 'hello', whoami: 'agent-1' })
    expect(emitter.invalid).toEqual([])
    expect(
      emitter.events.map((e) => [e.tool?.method, e.tool?.header_name, e.http?.status]),
    ).toEqual([
      ['server/discover', undefined, 200],
      ['tools/list', undefined, 200],
      ['tools/call', 'echo', 200],
      ['tools/call', 'whoami', 200],
    ])
    for (const event of emitter.events) {
      expect(event.attributes).toMatchObject({
        mcp_protocol_version: MODERN,
        mcp_meta_protocol_version: MODERN,
        mcp_client: { name: 'audtrail-test-agent-v2' },
      })
      expect(judge(event)).toEqual([])
    }
  })
})

describe('the same 2026-07-28 requests at a v1 server, which does not validate the headers', () => {
  it('refuses the 2026-07-28 version header itself (400): not flagged', async () => {
    const { url, emitter } = await v1Server()
    const token = await mint({ key, claims: { aud: MCP } })
    const res = await modernCall(url, token, { 'mcp-protocol-version': MODERN })
    expect(res.status).toBe(400)
    expect(judge(emitter.events.at(-1)!)).toEqual([])
  })

  it('serves a call without Mcp-Name or version header: flagged, keyed without a session', async () => {
    const { url, emitter } = await v1Server()
    const token = await mint({ key, claims: { aud: MCP, jti: 'v1-jti' } })
    const res = await modernCall(url, token, {
      'mcp-method': 'tools/call',
      traceparent: TRACEPARENT,
    })
    expect(res.status).toBe(200)
    const found = judge(emitter.events.at(-1)!)
    expect(found.map((d) => d.keys)).toEqual([
      { resource: MCP, client_id: 'agent-1', client_info: 'raw-client/0.1.0' },
    ])
    expect(found[0]!.evidence).toMatchObject({
      problems: ['missing_mcp_name', 'missing_protocol_version_header'],
      correlation: {
        token_key: 'v1-jti',
        client_info: { name: 'raw-client', version: '0.1.0' },
        trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
        mcp_session_id: null,
      },
    })
  })

  it('serves a call whose headers disagree with the body: flagged as mismatches', async () => {
    const { url, emitter } = await v1Server()
    const token = await mint({ key, claims: { aud: MCP } })
    const res = await modernCall(url, token, {
      'mcp-protocol-version': '2025-11-25',
      'mcp-method': 'tools/call',
      'mcp-name': 'read_only',
    })
    expect(res.status).toBe(200)
    expect(judge(emitter.events.at(-1)!)[0]!.evidence).toMatchObject({
      problems: ['name_mismatch', 'protocol_version_mismatch'],
      header: { name: 'read_only' },
      body: { name: 'echo' },
    })
  })
})
