/** Builds the `token.presented` event of one request from what the collector saw and decided. */
import { randomUUID } from 'node:crypto'
import type { z } from 'zod'
import type {
  Decision,
  ProofInfo,
  Reason,
  SourceKind,
  TokenPresented,
} from '../../events/schema.js'
import type { TokenFacts } from './claims.js'
import type { McpFacts } from './mcp.js'
import { parseEvent } from '../../events/parse.js'
import { RAW_JWT_REMOVED } from '../../events/raw-token.js'
import { LIMITS } from '../../events/schema.js'

/** Fixed per collector. */
export interface EventBase {
  tenant: string
  source: { kind: SourceKind; id: string }
  resource: string
  /** the configured issuer, used when the token names none */
  issuer: string
  mode: 'enforce' | 'observe'
}

/** Everything one request contributes; strings are already bounded (see sanitize.ts). */
export interface PresentedRecord {
  occurredAt: string
  /** absent when the request carried no token */
  facts?: TokenFacts
  /** the claims were verified (enforce mode, accepted); otherwise they are only decoded */
  verified: boolean
  decision: Decision
  reason: Reason
  audValidated: boolean
  method: string
  path: string
  status?: number
  mcp: McpFacts
  ip?: string
  userAgent?: string
  /** detail of a rejection, e.g. `unknown_kid` (see jose-errors.ts) */
  failure?: string
  /** who turned the request away when it was not the collector (`app`) */
  rejectedBy?: 'collector' | 'app'
  mcpSessionId?: string
  /** the client went away before a response was sent */
  aborted?: boolean
  /** proof-of-possession facts (scheme, verdict, DPoP proof, client certificate) */
  proof?: ProofInfo
}

const METHOD = /^[A-Za-z]{1,16}$/
/** Characters of one batch list (methods or tools) in `attributes`, of their 16 384 in all. */
const LIST_CHARS = 4_096

export type PresentedEventInput = z.input<typeof TokenPresented>

export function presentedEvent(base: EventBase, r: PresentedRecord): PresentedEventInput {
  const attributes: Record<string, unknown> = { collector_mode: base.mode }
  if (r.facts !== undefined) attributes.claims_verified = r.verified
  if (r.failure !== undefined) attributes.failure = r.failure
  if (r.rejectedBy !== undefined) attributes.rejected_by = r.rejectedBy
  if (r.facts !== undefined && r.facts.oversized.length > 0)
    attributes.oversized_claims = r.facts.oversized
  if (r.mcp.methods !== undefined) attributes.jsonrpc_methods = within(r.mcp.methods)
  if (r.mcp.tools !== undefined && r.mcp.tools.length > 0)
    attributes.jsonrpc_tools = within(r.mcp.tools)
  if (r.mcp.batchSize !== undefined) attributes.jsonrpc_batch_size = r.mcp.batchSize
  if (r.mcpSessionId !== undefined) attributes.mcp_session_id = r.mcpSessionId
  if (r.mcp.protocolVersion !== undefined) attributes.mcp_protocol_version = r.mcp.protocolVersion
  if (r.mcp.metaProtocolVersion !== undefined)
    attributes.mcp_meta_protocol_version = r.mcp.metaProtocolVersion
  if (r.mcp.client !== undefined) attributes.mcp_client = r.mcp.client
  if (r.mcp.traceparent !== undefined) attributes.traceparent = r.mcp.traceparent
  if (r.aborted === true) attributes.aborted = true

  const http: { method: string; path: string; status?: number } = {
    method: METHOD.test(r.method) ? r.method : 'OTHER',
    path: r.path,
  }
  if (r.status !== undefined) http.status = r.status

  const event: PresentedEventInput = {
    schema_version: 1,
    event_id: randomUUID(),
    event_type: 'token.presented',
    occurred_at: r.occurredAt,
    tenant: base.tenant,
    source: base.source,
    issuer: r.facts?.issuer ?? base.issuer,
    resource: base.resource,
    presented_aud: r.facts?.token.aud ?? [],
    aud_validated: r.audValidated,
    decision: r.decision,
    reason: r.reason,
    http,
    attributes,
  }
  if (r.facts !== undefined) {
    event.token = r.facts.token
    if (r.facts.clientId !== undefined) event.client_id = r.facts.clientId
    if (r.facts.subject !== undefined) event.subject = r.facts.subject
    if (r.facts.sessionId !== undefined) event.session_id = r.facts.sessionId
  }
  const tool = toolOf(r.mcp)
  if (tool !== undefined) event.tool = tool
  if (r.proof !== undefined) event.proof = r.proof
  if (r.ip !== undefined || r.userAgent !== undefined) {
    event.network = {}
    if (r.ip !== undefined) event.network.ip = r.ip
    if (r.userAgent !== undefined) event.network.user_agent = r.userAgent
  }
  const sanitized = cutFields(event)
  if (sanitized.length > 0) attributes.sanitized = sanitized
  return event
}

/** A batch's list, cut so the attributes stay within the contract's bound whatever the names. */
function within(items: readonly string[]): string[] {
  const out: string[] = []
  let chars = 0
  for (const item of items) {
    if (typeof item !== 'string') continue
    chars += item.length + 3
    if (chars > LIST_CHARS) break
    out.push(item)
  }
  return out
}

/** The fields a raw JWT was cut from (the request's own text, or a decoded token's claims). */
function cutFields(e: PresentedEventInput): string[] {
  const out: string[] = []
  const check = (name: string, v: string | undefined) => {
    if (v !== undefined && v.includes(RAW_JWT_REMOVED)) out.push(name)
  }
  const checkList = (name: string, list: readonly unknown[] | undefined) => {
    if (list?.some((v) => typeof v === 'string' && v.includes(RAW_JWT_REMOVED))) out.push(name)
  }
  check('http.path', e.http?.path)
  check('network.user_agent', e.network?.user_agent)
  check('issuer', e.issuer)
  check('client_id', e.client_id)
  check('subject', e.subject)
  check('session_id', e.session_id)
  check('token.jti', e.token?.jti)
  check('proof.htu', e.proof?.htu)
  checkList('token.aud', e.token?.aud)
  checkList('token.scopes', e.token?.scopes)
  checkList('presented_aud', e.presented_aud)
  for (const key of ['method', 'name', 'header_method', 'header_name'] as const)
    check(`tool.${key}`, e.tool?.[key])
  const a = e.attributes ?? {}
  check('attributes.mcp_session_id', a.mcp_session_id as string | undefined)
  const client = a.mcp_client as { name?: string; version?: string } | undefined
  check('attributes.mcp_client.name', client?.name)
  check('attributes.mcp_client.version', client?.version)
  checkList('attributes.jsonrpc_methods', a.jsonrpc_methods as unknown[] | undefined)
  checkList('attributes.jsonrpc_tools', a.jsonrpc_tools as unknown[] | undefined)
  return out
}

function toolOf(m: McpFacts): Record<string, string> | undefined {
  let tool: Record<string, string> | undefined
  for (const key of ['method', 'name', 'header_method', 'header_name'] as const) {
    const value = m[key]
    if (value !== undefined) (tool ??= {})[key] = value
  }
  return tool
}

/**
 * The event is valid by construction and may skip the contract's schema at the emitter
 * (emitter/built.ts). What construction bounds needs no look: texts copied from the request or
 * the token are cleaned and cut to their limits (sanitize.ts), identifiers and enumerations come
 * from code, the base was checked once (baseVouched). What it cannot bound is looked at here,
 * and any doubt sends the event down the ordinary path, where `parseEvent` decides: the HTTP
 * status the host chose (Node allows 100 to 999, the contract 100 to 599), texts that grew when
 * the presented token was cut out of them, batch lists (their attributes' JSON size depends on
 * escaping), an event without a token that is not `missing_token`, an event already reduced.
 */
export function vouched(e: PresentedEventInput, r: PresentedRecord): boolean {
  if (r.status !== undefined && !(Number.isInteger(r.status) && r.status >= 100 && r.status <= 599))
    return false
  if (e.token === undefined && e.reason !== 'missing_token') return false
  if (r.mcp.methods !== undefined || r.mcp.tools !== undefined) return false
  if (e.attributes?.reduced !== undefined) return false
  if (!within1(e.http?.path, LIMITS.path)) return false
  if (e.network?.user_agent !== undefined && !within1(e.network.user_agent, LIMITS.userAgent))
    return false
  if (e.proof?.htu !== undefined && !within1(e.proof.htu, LIMITS.uri)) return false
  const t = e.tool
  if (t !== undefined)
    for (const key of ['method', 'name', 'header_method', 'header_name'] as const)
      if (t[key] !== undefined && !within1(t[key], LIMITS.id)) return false
  return true
}

const within1 = (s: string | undefined, max: number) =>
  s !== undefined && s.length >= 1 && s.length <= max

/**
 * The fields every event of a collector takes from its configuration (tenant, source, resource,
 * issuer) pass the contract: checked once, on a sample event, when the collector is created.
 */
export function baseVouched(base: EventBase): boolean {
  const sample = presentedEvent(base, {
    occurredAt: new Date().toISOString(),
    verified: false,
    decision: 'rejected',
    reason: 'missing_token',
    audValidated: false,
    method: 'GET',
    path: '/',
    mcp: {},
  })
  return parseEvent(sample).ok
}
