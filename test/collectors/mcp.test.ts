import { describe, expect, it } from 'vitest'
import { mcpFromBody, mcpFromHeaders } from '../../src/collectors/rs/mcp.js'

const call = (method: string, params?: unknown, id: number | undefined = 1) => ({
  jsonrpc: '2.0',
  ...(id === undefined ? {} : { id }),
  method,
  ...(params === undefined ? {} : { params }),
})

describe('MCP facts from a JSON-RPC body', () => {
  it('take the method and, for tools/call, the tool name of a single request', () => {
    expect(mcpFromBody(call('tools/call', { name: 'echo', arguments: { text: 'x' } }))).toEqual({
      method: 'tools/call',
      name: 'echo',
    })
    expect(mcpFromBody(call('tools/list'))).toEqual({ method: 'tools/list', name: undefined })
  })

  it('take the name SEP-2243 mirrors for prompts and resources', () => {
    expect(mcpFromBody(call('prompts/get', { name: 'greet' }))).toMatchObject({ name: 'greet' })
    expect(mcpFromBody(call('resources/read', { uri: 'file:///a' }))).toMatchObject({
      method: 'resources/read',
      name: 'file:///a',
    })
  })

  it('describe a batch by its first tools/call and list every method and tool', () => {
    const batch = [
      call('notifications/initialized', undefined, undefined),
      call('tools/list', undefined, 1),
      call('tools/call', { name: 'echo' }, 2),
      { jsonrpc: '2.0', id: 9, result: {} },
      call('tools/call', { name: 'delete_all' }, 3),
    ]
    expect(mcpFromBody(batch)).toEqual({
      method: 'tools/call',
      name: 'echo',
      methods: ['notifications/initialized', 'tools/list', 'tools/call', 'tools/call'],
      tools: ['echo', 'delete_all'],
      batchSize: 5,
    })
  })

  it('describe a batch without tools/call by its first request', () => {
    expect(mcpFromBody([call('ping'), call('tools/list')])).toMatchObject({
      method: 'ping',
      methods: ['ping', 'tools/list'],
      tools: [],
    })
  })

  it('bound what a huge batch contributes', () => {
    const batch = Array.from({ length: 10_000 }, (_, i) => call('tools/call', { name: `t${i}` }, i))
    const facts = mcpFromBody(batch)
    expect(facts.methods).toHaveLength(64)
    expect(facts.tools).toHaveLength(64)
    expect(facts.batchSize).toBe(10_000)
  })

  it('ignore bodies that are not JSON-RPC 2.0 requests', () => {
    expect(mcpFromBody({ method: 'card', amount: 3 })).toEqual({})
    expect(mcpFromBody({ jsonrpc: '2.0', id: 1, result: {} })).toEqual({})
    expect(mcpFromBody(undefined)).toEqual({})
    expect(mcpFromBody('{"jsonrpc":"2.0","method":"x"}')).toEqual({})
    expect(mcpFromBody(call('tools/call', { name: 42 }))).toEqual({
      method: 'tools/call',
      name: undefined,
    })
  })
})

describe('SEP-2243 headers', () => {
  it('are recorded as sent, the base64 form decoded', () => {
    const encoded = `=?base64?${Buffer.from('café').toString('base64')}?=`
    expect(mcpFromHeaders({ 'mcp-method': 'tools/call', 'mcp-name': encoded })).toEqual({
      header_method: 'tools/call',
      header_name: 'café',
    })
    expect(mcpFromHeaders({})).toEqual({})
  })

  it('are bounded and free of control characters', () => {
    const facts = mcpFromHeaders({ 'mcp-name': 'x'.repeat(5000), 'mcp-method': 'a\u0001b' })
    expect(facts.header_name).toHaveLength(256)
    expect(facts.header_method).toBe('a\uFFFDb')
  })
})

describe('what MCP 2026-07-28 carries instead of a session', () => {
  const META = {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientInfo': { name: 'ExampleClient', version: '1.0.0', extra: 1 },
    'io.modelcontextprotocol/clientCapabilities': {},
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  }

  it('takes the protocol version, client info and trace context from params._meta', () => {
    expect(mcpFromBody(call('tools/call', { name: 'echo', _meta: META }))).toEqual({
      method: 'tools/call',
      name: 'echo',
      metaProtocolVersion: '2026-07-28',
      client: { name: 'ExampleClient', version: '1.0.0' },
      traceparent: META.traceparent,
    })
  })

  it('ignores _meta values of the wrong shape', () => {
    const bad = {
      'io.modelcontextprotocol/protocolVersion': 'latest',
      'io.modelcontextprotocol/clientInfo': 'ExampleClient',
      traceparent: '00-not-a-trace',
    }
    expect(mcpFromBody(call('tools/list', { _meta: bad }))).toEqual({
      method: 'tools/list',
      name: undefined,
    })
    expect(mcpFromBody(call('tools/list', { _meta: [META] }))).toEqual({
      method: 'tools/list',
      name: undefined,
    })
  })

  it('takes MCP-Protocol-Version and traceparent headers, well-formed only', () => {
    expect(
      mcpFromHeaders({
        'mcp-protocol-version': ' 2026-07-28 ',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      }),
    ).toEqual({
      protocolVersion: '2026-07-28',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    })
    expect(
      mcpFromHeaders({ 'mcp-protocol-version': '2026-07-28\r\nX: y', traceparent: 'x' }),
    ).toEqual({})
  })
})
