/**
 * The agent's MCP side: the MCP SDK client over Streamable HTTP with a bearer token, and a fetch
 * that adds the SEP-2243 `Mcp-Method` / `Mcp-Name` headers (optionally lying about the tool name).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'

export interface ToolCall {
  name: string
  arguments?: Record<string, unknown>
}

export type SessionOutcome =
  { ok: true; tools: string[]; calls: number } | { ok: false; error: string }

/**
 * A fetch adding SEP-2243 headers from each JSON-RPC body, as clients of the 2026-07-28 revision
 * do; `headerName` forces the `Mcp-Name` of every tools/call (a header that disagrees with the
 * body).
 */
export function sep2243Fetch(headerName?: string): typeof fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers)
    if (typeof init?.body === 'string') {
      const message = JSON.parse(init.body) as { method?: unknown; params?: { name?: unknown } }
      if (typeof message.method === 'string') headers.set('mcp-method', message.method)
      const name = headerName ?? message.params?.name
      if (message.method === 'tools/call' && typeof name === 'string') headers.set('mcp-name', name)
    }
    return fetch(input, { ...init, headers })
  }
}

/**
 * Connects to `${url}/mcp` with the token, lists the tools, makes the calls, and closes. A server
 * that refuses the token makes the outcome `ok: false` (with the SDK's message), never a throw.
 */
export async function mcpSession(
  url: string,
  token: string,
  calls: readonly ToolCall[],
  fetchImpl: typeof fetch = sep2243Fetch(),
): Promise<SessionOutcome> {
  const client = new Client({ name: 'audtrail-demo-agent', version: '1.0.0' })
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
    fetch: fetchImpl,
  })
  try {
    await client.connect(transport)
    const { tools } = await client.listTools()
    for (const call of calls) await client.callTool({ name: call.name, arguments: call.arguments })
    return { ok: true, tools: tools.map((t) => t.name), calls: calls.length }
  } catch (err) {
    // The SDK's StreamableHTTPError carries the HTTP status as `code`.
    const code = (err as { code?: unknown }).code
    return { ok: false, error: typeof code === 'number' ? `HTTP ${code}` : 'no answer' }
  } finally {
    await client.close().catch(() => {})
  }
}
