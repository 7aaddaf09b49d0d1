/**
 * MCP request facts: JSON-RPC method and tool from the body (single or batch), SEP-2243 headers,
 * and what MCP 2026-07-28 carries on every request instead of a session: the protocol version
 * (`MCP-Protocol-Version` header and `_meta`), the client's `_meta` identity and trace context.
 */
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
  /** the `MCP-Protocol-Version` header */
  protocolVersion?: string
  /** `params._meta["io.modelcontextprotocol/protocolVersion"]` (2026-07-28 requests) */
  metaProtocolVersion?: string
  /** `params._meta["io.modelcontextprotocol/clientInfo"]`: the client's name and version */
  client?: { name?: string; version?: string }
  /** W3C trace context: the `traceparent` header, else `params._meta.traceparent` */
  traceparent?: string
}

/** The `_meta` keys of MCP 2026-07-28 (SEP-2575) and OpenTelemetry's trace context (SEP-414). */
const META_PROTOCOL_VERSION = 'io.modelcontextprotocol/protocolVersion'
const META_CLIENT_INFO = 'io.modelcontextprotocol/clientInfo'
/** W3C Trace Context `traceparent`, version 00 form (lower-case hex). */
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/
/** A protocol revision as MCP spells it: a date. */
const REVISION = /^\d{4}-\d{2}-\d{2}$/

function traceparentOf(value: unknown): string | undefined {
  return typeof value === 'string' && TRACEPARENT.test(value.trim()) ? value.trim() : undefined
}

/** What a single request's `params._meta` says of the protocol, the client and the trace. */
function metaOf(message: unknown): McpFacts {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return {}
  const params = (message as { params?: unknown }).params
  if (params === null || typeof params !== 'object') return {}
  const meta = (params as { _meta?: unknown })._meta
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return {}
  const m = meta as Record<string, unknown>
  const out: McpFacts = {}
  const version = m[META_PROTOCOL_VERSION]
  if (typeof version === 'string' && REVISION.test(version)) out.metaProtocolVersion = version
  const info = m[META_CLIENT_INFO]
  if (info !== null && typeof info === 'object' && !Array.isArray(info)) {
    const { name, version: v } = info as Record<string, unknown>
    const client: { name?: string; version?: string } = {}
    if (typeof name === 'string') client.name = clip(name, LIMITS.id)
    if (typeof v === 'string') client.version = clip(v, LIMITS.id)
    if (client.name !== undefined || client.version !== undefined) out.client = client
  }
  const trace = traceparentOf(m.traceparent)
  if (trace !== undefined) out.traceparent = trace
  return out
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
      : { method: clip(call.method, LIMITS.id), name: clip(call.name, LIMITS.id), ...metaOf(body) }
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
  const version = first(headers['mcp-protocol-version'])?.trim()
  if (version !== undefined && REVISION.test(version)) out.protocolVersion = version
  const trace = traceparentOf(first(headers.traceparent))
  if (trace !== undefined) out.traceparent = trace
  return out
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
