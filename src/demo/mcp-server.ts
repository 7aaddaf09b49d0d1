/**
 * The demo's MCP servers: the MCP SDK's `McpServer` over stateless Streamable HTTP behind Express,
 * with the audtrail Express collector mounted in front (after `express.json()`, so it reads the
 * JSON-RPC body the SDK is handed).
 */
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import express, { type RequestHandler } from 'express'
import { z } from 'zod'

export const TOOLS = ['read_file', 'delete_file', 'whoami'] as const

function mcpServer(name: string): McpServer {
  const server = new McpServer({ name, version: '1.0.0' })
  server.registerTool(
    'read_file',
    { description: 'Reads a file of the demo workspace', inputSchema: { path: z.string() } },
    async ({ path }) => ({ content: [{ type: 'text', text: `contents of ${path}` }] }),
  )
  server.registerTool(
    'delete_file',
    { description: 'Deletes a file of the demo workspace', inputSchema: { path: z.string() } },
    async ({ path }) => ({ content: [{ type: 'text', text: `deleted ${path}` }] }),
  )
  server.registerTool('whoami', { description: 'The calling client' }, async (extra) => ({
    content: [{ type: 'text', text: extra.authInfo?.clientId ?? 'anonymous' }],
  }))
  return server
}

/** Express app: the collector, then the host's own middleware (if any), then the MCP endpoint. */
export function mcpApp(name: string, middleware: readonly RequestHandler[]): express.Express {
  const app = express()
  app.use(express.json())
  for (const m of middleware) app.use(m)
  app.post('/mcp', async (req, res) => {
    const server = mcpServer(name)
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
  close(): Promise<void>
}

/** Listens on a loopback ephemeral port. */
export async function listen(handler: RequestListener): Promise<Listening> {
  const server: Server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
