/**
 * mcp-unvalidated-headers: each problem it names, when a request counts as served, the gateway
 * case and what its findings carry (mutation runs, docs/design/mutation.md). In memory, as the
 * engine runs it.
 */
import { describe, expect, it } from 'vitest'
import { runEventExample } from '../../src/detection/examples.js'
import type { RuleExample } from '../../src/detection/rule.js'
import { mcpUnvalidatedHeaders } from '../../src/detection/rules/mcp-unvalidated-headers.js'
import { exampleEvents, MCP, toolCall } from '../../src/detection/rules/lib/example-events.js'

type Fields = Record<string, unknown>
const ev = exampleEvents('mutation-mcp-headers')
const V = '2026-07-28'
const BOTH = { mcp_protocol_version: V, mcp_meta_protocol_version: V }
const run = (events: Fields[], params: Fields = {}) =>
  runEventExample(mcpUnvalidatedHeaders, { name: 't', fires: true, events, params } as RuleExample)
const request = (tool: Fields, attributes: Fields = BOTH, more: Fields = {}) =>
  ev.presented({ tool, attributes, ...more })
const problems = (tool: Fields, attributes: Fields = BOTH, more: Fields = {}) =>
  run([request(tool, attributes, more)]).flatMap((d) => d.evidence.problems as string[])

describe('mcp-unvalidated-headers', () => {
  it('names each header problem of a 2026-07-28 request', () => {
    expect(problems(toolCall('read_file'))).toEqual([])
    expect(problems({ method: 'tools/call', name: 'a', header_name: 'a' })).toEqual([
      'missing_mcp_method',
    ])
    expect(problems({ ...toolCall('a'), header_method: 'tools/list' })).toEqual(['method_mismatch'])
    expect(problems(toolCall('a', 'b'))).toEqual(['name_mismatch'])
    expect(
      problems({ method: 'resources/read', name: 'file:///x', header_method: 'resources/read' }),
    ).toEqual(['missing_mcp_name'])
    expect(problems({ method: 'prompts/get', name: 'p', header_method: 'prompts/get' })).toEqual([
      'missing_mcp_name',
    ])
    // A method without a name to mirror needs no Mcp-Name.
    expect(problems({ method: 'tools/list', name: 'x', header_method: 'tools/list' })).toEqual([])
    expect(problems(toolCall('a'), { mcp_meta_protocol_version: V })).toEqual([
      'missing_protocol_version_header',
    ])
    expect(
      problems(toolCall('a'), { mcp_protocol_version: '2025-11-25', mcp_meta_protocol_version: V }),
    ).toEqual(['protocol_version_mismatch'])
    // The header alone names the version when _meta does not.
    expect(problems(toolCall('a', 'b'), { mcp_protocol_version: V })).toEqual(['name_mismatch'])
  })

  it('matches the headers of a batch against any of its methods and tools', () => {
    const batch = {
      ...BOTH,
      jsonrpc_methods: ['tools/list', 'tools/call'],
      jsonrpc_tools: ['a', 'b'],
    }
    expect(
      problems(
        { method: 'tools/list', name: 'a', header_method: 'tools/call', header_name: 'b' },
        batch,
      ),
    ).toEqual([])
    expect(
      problems(
        { method: 'tools/list', name: 'a', header_method: 'prompts/get', header_name: 'c' },
        batch,
      ),
    ).toEqual(['method_mismatch', 'name_mismatch'])
  })

  it('leaves notifications and requests without a method alone', () => {
    expect(problems({ method: 'notifications/initialized' })).toEqual([])
    expect(problems({ name: 'x' })).toEqual([])
  })

  it('judges only what was served: accepted, and no error status (or no status, not aborted)', () => {
    const missing = { method: 'tools/call', name: 'a', header_method: 'tools/call' }
    expect(
      problems(missing, BOTH, { http: { method: 'POST', path: '/mcp', status: 399 } }),
    ).toEqual(['missing_mcp_name'])
    expect(
      problems(missing, BOTH, { http: { method: 'POST', path: '/mcp', status: 400 } }),
    ).toEqual([])
    expect(problems(missing, BOTH, { decision: 'rejected', reason: 'other' })).toEqual([])
    expect(problems(missing, BOTH, { http: undefined })).toEqual(['missing_mcp_name'])
    expect(problems(missing, { ...BOTH, aborted: true }, { http: undefined })).toEqual([])
    expect(problems(missing, { ...BOTH, aborted: false }, { http: undefined })).toEqual([
      'missing_mcp_name',
    ])
    expect(run([ev.issued()])).toEqual([])
  })

  it('flags a gateway acting on headers of an older or unknown version (medium), unless told not to', () => {
    const gateway = { source: { kind: 'gateway', id: 'edge-gw' } }
    for (const attributes of [{ mcp_protocol_version: '2025-11-25' }, {}]) {
      const found = run([request(toolCall('a', 'b'), attributes, gateway)])
      expect(found.map((d) => [d.evidence.problems, d.severity])).toEqual([
        [['unvalidated_headers_trusted'], 'medium'],
      ])
    }
    expect(run([request({ method: 'tools/call', header_name: 'x' }, {}, gateway)])).toHaveLength(1)
    expect(run([request({ method: 'tools/call', name: 'a' }, {}, gateway)])).toEqual([])
    expect(run([request(toolCall('a', 'b'), {}, gateway)], { flagIntermediaries: false })).toEqual(
      [],
    )
    expect(run([request(toolCall('a', 'b'), {})])).toEqual([])
    expect(mcpUnvalidatedHeaders.params.parse({}).flagIntermediaries).toBe(true)
  })

  it('keys on the client it names in _meta and carries the correlation a session would give', () => {
    const [d] = run([
      request(
        { method: 'tools/call', name: 'delete_file', header_method: 'tools/call' },
        {
          ...BOTH,
          mcp_client: { name: 'ExampleClient', version: '1.0.0' },
          traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
          mcp_session_id: 's-1',
        },
      ),
    ])
    expect(d!.severity).toBeUndefined()
    expect(d!.keys).toEqual({
      resource: MCP,
      client_id: 'agent-7',
      client_info: 'ExampleClient/1.0.0',
    })
    expect(d!.evidence).toMatchObject({
      problems: ['missing_mcp_name'],
      protocol_version: { header: V, meta: V },
      header: { method: 'tools/call', name: null },
      body: { method: 'tools/call', name: 'delete_file' },
      http_status: 200,
      correlation: {
        client_info: { name: 'ExampleClient', version: '1.0.0' },
        trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
        mcp_session_id: 's-1',
      },
    })
    expect((d!.evidence.correlation as Fields).token_key).toMatch(/\S/)
  })

  it('without _meta client or trace: empty key part and nulls', () => {
    const [d] = run([request({ method: 'tools/list' }, { mcp_meta_protocol_version: V })])
    expect(d!.keys.client_info).toBe('')
    expect(d!.evidence).toMatchObject({
      problems: ['missing_mcp_method', 'missing_protocol_version_header'],
      protocol_version: { header: null, meta: V },
      header: { method: null, name: null },
      body: { method: 'tools/list', name: null },
      correlation: { client_info: null, trace_id: null, mcp_session_id: null },
    })
    const [odd] = run([
      request({ method: 'tools/list' }, { mcp_meta_protocol_version: V, mcp_client: { name: 7 } }),
    ])
    expect(odd!.keys.client_info).toBe('/')
  })

  it('a name header without a body name to mirror is no mismatch, and not missing', () => {
    expect(
      problems({ method: 'tools/list', header_method: 'tools/list', header_name: 'x' }),
    ).toEqual([])
    expect(
      problems({ method: 'tools/call', header_method: 'tools/call', header_name: 'x' }),
    ).toEqual([])
    expect(problems({ method: 'tools/call', header_method: 'tools/call' })).toEqual([])
  })

  it("a header naming the body's own tool matches, even when the batch list leaves it out", () => {
    expect(
      problems(
        { method: 'tools/call', name: 'c', header_method: 'tools/call', header_name: 'c' },
        { ...BOTH, jsonrpc_tools: ['a', 'b'] },
      ),
    ).toEqual([])
  })

  it('a gateway acting on the method header alone is flagged', () => {
    const gateway = { source: { kind: 'gateway', id: 'edge-gw' } }
    expect(
      run([request({ method: 'tools/list', header_method: 'tools/list' }, {}, gateway)]).map(
        (d) => d.evidence.problems,
      ),
    ).toEqual([['unvalidated_headers_trusted']])
  })

  it('a _meta client that is no object names no client', () => {
    const [d] = run([
      request(
        { method: 'tools/list' },
        { mcp_meta_protocol_version: V, mcp_client: 'ExampleClient' },
      ),
    ])
    expect(d!.keys.client_info).toBe('')
    expect((d!.evidence.correlation as Fields).client_info).toBeNull()
  })
})
