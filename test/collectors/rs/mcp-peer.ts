/** A real MCP SDK server (Streamable HTTP, stateless) behind Express, and a real MCP SDK client. */
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import express, { type RequestHandler } from 'express'
import { z } from 'zod'

function mcpServer(): McpServer {
  const server = new McpServer({ name: 'audtrail-test-mcp', version: '1.0.0' })
  server.registerTool(
    'echo',
    { description: 'Echoes its input', inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  )
  // Shows that the SDK sees the collector's verified token as `authInfo`.
  server.registerTool('whoami', { description: 'The calling client' }, async (extra) => ({
    content: [{ type: 'text', text: extra.authInfo?.clientId ?? 'anonymous' }],
  }))
  return server
}

/** `json: false` leaves the body unparsed: the SDK then reads the request stream itself. */
export function mcpApp(collector: RequestHandler | undefined, options: { json?: boolean } = {}) {
  const app = express()
  if (options.json !== false) app.use(express.json())
  if (collector !== undefined) app.use(collector)
  app.post('/mcp', async (req, res) => {
    const server = mcpServer()
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    })
    res.on('close', () => {
      void transport.close()
      void server.close()
    })
    await server.connect(transport)
    await transport.handleRequest(req, res, req.body)
  })
  app.all('/mcp', (_req, res) => {
    res
      .status(405)
      .json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null })
  })
  return app
}

export interface Listening {
  url: string
  server: Server
  close(): Promise<void>
}

export async function listen(handler: RequestListener, maxHeaderSize?: number): Promise<Listening> {
  const server = createServer(maxHeaderSize === undefined ? {} : { maxHeaderSize }, handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/**
 * A fetch that adds SEP-2243 `Mcp-Method` / `Mcp-Name` from the JSON-RPC body, as clients of the
 * 2026-07-28 revision do (SDK 1.32 does not yet); `override` forces a (mismatching) tool name.
 */
export function sep2243Fetch(override?: string): typeof fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers)
    if (typeof init?.body === 'string') {
      const message = JSON.parse(init.body) as { method?: string; params?: { name?: string } }
      if (message.method) headers.set('mcp-method', message.method)
      const name = override ?? message.params?.name
      if (message.method === 'tools/call' && name) headers.set('mcp-name', name)
    }
    return fetch(input, { ...init, headers })
  }
}

/** Connects, lists tools, calls `echo` and `whoami`, and closes. */
export async function mcpSession(url: string, token: string | undefined, fetchImpl?: typeof fetch) {
  const client = new Client({ name: 'audtrail-test-agent', version: '1.0.0' })
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    requestInit: token === undefined ? {} : { headers: { Authorization: `Bearer ${token}` } },
    ...(fetchImpl === undefined ? {} : { fetch: fetchImpl }),
  })
  await client.connect(transport)
  try {
    const tools = await client.listTools()
    const echo = await client.callTool({ name: 'echo', arguments: { text: 'hello' } })
    const whoami = await client.callTool({ name: 'whoami', arguments: {} })
    const text = (r: typeof echo) => (r.content as { text: string }[])[0]!.text
    return { tools: tools.tools.map((t) => t.name), echo: text(echo), whoami: text(whoami) }
  } finally {
    await client.close()
  }
}
