/**
 * A real MCP SDK v2 server (`@modelcontextprotocol/server` `createMcpHandler`, mounted with
 * `@modelcontextprotocol/node` `toNodeHandler`) behind Express, and a real v2 client
 * (`@modelcontextprotocol/client`) pinned to protocol revision 2026-07-28 or left on its legacy
 * default.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { toNodeHandler } from '@modelcontextprotocol/node'
import { createMcpHandler, McpServer, type AuthInfo } from '@modelcontextprotocol/server'
import type { FastifyInstance } from 'fastify'
import express, { type RequestHandler } from 'express'
import { z } from 'zod'

function mcpServer(): McpServer {
  const server = new McpServer({ name: 'audtrail-test-mcp-v2', version: '2.0.0' })
  server.registerTool(
    'echo',
    { description: 'Echoes its input', inputSchema: z.object({ text: z.string() }) },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  )
  // Shows that the v2 SDK sees the collector's verified token (`req.auth`) as `http.authInfo`.
  server.registerTool('whoami', { description: 'The calling client' }, async (ctx) => ({
    content: [{ type: 'text', text: ctx.http?.authInfo?.clientId ?? 'anonymous' }],
  }))
  return server
}

/**
 * Fastify: a route for every method at `/mcp` that hands the request to the v2 handler, the
 * collector's verified client as `req.auth` (what `toNodeHandler` passes on as `authInfo`).
 */
export function mcpV2FastifyRoute(app: FastifyInstance): () => Promise<void> {
  const handler = createMcpHandler(() => mcpServer())
  const node = toNodeHandler(handler)
  app.all('/mcp', async (request, reply) => {
    reply.hijack()
    const raw = request.raw as typeof request.raw & { auth?: AuthInfo }
    const clientId = request.audtrail?.clientId
    if (clientId !== undefined) raw.auth = { token: '', clientId, scopes: [] }
    await node(raw, reply.raw, request.body)
  })
  return () => handler.close()
}

/** Express: JSON body parser, the collector, then the v2 handler for every method at `/mcp`. */
export function mcpV2App(collector: RequestHandler | undefined) {
  const handler = createMcpHandler(() => mcpServer())
  const node = toNodeHandler(handler)
  const app = express()
  app.use(express.json())
  if (collector !== undefined) app.use(collector)
  app.all('/mcp', (req, res) => {
    void node(req, res, req.body)
  })
  return { app, close: () => handler.close() }
}

/**
 * Calls `tools/list`, `echo` and `whoami` with a v2 client: `modern` pins protocol revision
 * 2026-07-28 (a `server/discover` probe, then `_meta` and the standard headers on every request);
 * otherwise the client's default, the 2025 `initialize` handshake.
 */
export async function mcpV2Session(
  url: string,
  token: string,
  options: { modern: boolean; headers?: Record<string, string> },
) {
  const client = new Client(
    { name: 'audtrail-test-agent-v2', version: '2.0.0' },
    options.modern ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
  )
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}`, ...options.headers } },
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
