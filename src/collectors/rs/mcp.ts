/** MCP request facts: JSON-RPC method and tool from the body (single or batch), SEP-2243 headers. */
import type { IncomingHttpHeaders } from 'node:http'
import { LIMITS } from '../../events/schema.js'
import { clip } from './sanitize.js'

/** What `token.presented` records about an MCP request (`tool` plus batch attributes). */
export interface McpFacts {
  method?: string
  name?: string
  header_method?: string
  header_name?: string
  /** every JSON-RPC method of a batch, in order (batches only) */
  methods?: string[]
  /** every `tools/call` tool name of a batch, in order (batches only) */
  tools?: string[]
  batchSize?: number
}

/** Methods whose target SEP-2243 mirrors into `Mcp-Name`: `params.name` or `params.uri`. */
const NAME_PARAM: Readonly<Record<string, 'name' | 'uri'>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'resources/subscribe': 'uri',
  'resources/unsubscribe': 'uri',
}
const MAX_BATCH_SCAN = 1024
const ENCODED = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/

interface Call {
  method: string
  name?: string
}

function callOf(message: unknown): Call | undefined {
  if (message === null || typeof message !== 'object') return undefined
  const m = message as { jsonrpc?: unknown; method?: unknown; params?: unknown }
  if (m.jsonrpc !== '2.0' || typeof m.method !== 'string') return undefined
  const param = NAME_PARAM[m.method]
  const params = m.params as Record<string, unknown> | null | undefined
  const name =
    param !== undefined && params !== null && typeof params === 'object' ? params[param] : undefined
  return typeof name === 'string' ? { method: m.method, name } : { method: m.method }
}

/**
 * One event per HTTP request: for a batch, `method`/`name` come from its first `tools/call`
 * (else its first request), and every method and tool name lands in the batch lists.
 */
export function mcpFromBody(body: unknown): McpFacts {
  if (!Array.isArray(body)) {
    const call = callOf(body)
    return call === undefined
      ? {}
      : { method: clip(call.method, LIMITS.id), name: clip(call.name, LIMITS.id) }
  }
  const calls: Call[] = []
  for (let i = 0; i < body.length && i < MAX_BATCH_SCAN; i++) {
    const call = callOf(body[i])
    if (call !== undefined) calls.push(call)
  }
  if (calls.length === 0) return { batchSize: body.length }
  const primary = calls.find((c) => c.method === 'tools/call') ?? calls[0]!
  const items = calls.slice(0, LIMITS.listItems)
  return {
    method: clip(primary.method, LIMITS.id),
    name: clip(primary.name, LIMITS.id),
    // An empty method or name (clip gives undefined) is spelled `""` rather than dropped, so
    // the list keeps the batch's order.
    methods: items.map((c) => clip(c.method, LIMITS.id) ?? '""'),
    tools: items
      .filter((c) => c.method === 'tools/call' && c.name)
      .map((c) => clip(c.name, LIMITS.id) ?? '""'),
    batchSize: body.length,
  }
}

/** A header value, decoding SEP-2243's `=?base64?...?=` form for non-ASCII names. */
function headerValue(value: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(value) ? value[0] : value
  if (raw === undefined || raw.length > 4 * LIMITS.id) return clip(raw, LIMITS.id)
  const encoded = ENCODED.exec(raw.trim())
  const decoded = encoded ? Buffer.from(encoded[1]!, 'base64').toString('utf8') : raw.trim()
  return clip(decoded, LIMITS.id)
}

/** SEP-2243 `Mcp-Method` / `Mcp-Name`, recorded as sent so rules can compare them with the body. */
export function mcpFromHeaders(headers: IncomingHttpHeaders): McpFacts {
  const method = headerValue(headers['mcp-method'])
  const name = headerValue(headers['mcp-name'])
  const out: McpFacts = {}
  if (method !== undefined) out.header_method = method
  if (name !== undefined) out.header_name = name
  return out
}
