/** Records one request at its end: when the response head is written, or when the client goes away. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { JWTPayload } from 'jose'
import {
  LIMITS,
  type AuditEvent,
  type Decision,
  type ProofInfo,
  type Reason,
} from '../../events/schema.js'
import type { TokenFacts } from './claims.js'
import { decisionFromStatus, rejectedReason } from './decision.js'
import { presentedEvent, vouched, type PresentedEventInput, type PresentedRecord } from './event.js'
import { mcpFromBody, mcpFromHeaders, type McpFacts } from './mcp.js'
import type { ResolvedConfig } from './resolve.js'
import { RAW_JWT_REMOVED } from '../../events/raw-token.js'
import { clip, userAgent } from './sanitize.js'
import { challengeError } from './www-authenticate.js'

/** What the collector learnt about one request before the host answered it. */
export interface RequestState {
  occurredAt: string
  now: number
  method: string
  path: string
  ip: string | undefined
  facts?: TokenFacts
  claims?: JWTPayload
  /** bearer syntax was invalid or the token too large */
  malformed: boolean
  /** set in enforce mode: what the collector decided */
  decided?: { decision: Decision; reason: Reason; failure?: string; verified: boolean }
  /** enforce mode: the token is being verified (the collector has not decided yet) */
  pending?: boolean
  /**
   * the host answered, or the client left, while the token was being verified: the request is
   * recorded once the verdict is in
   */
  endedWhilePending?: boolean
  /** records the request now (set by trackResponse) */
  recordNow?: () => void
  /** the presented token: cut from every text copied into the event (an opaque one too) */
  token?: string
  /** the `Authorization` scheme the token came with */
  scheme?: 'Bearer' | 'DPoP'
  /** `x5t#S256` of the TLS client certificate, when the host terminates TLS and got one */
  cert?: string
  /** proof-of-possession facts and verdict (dpop.ts judgeBinding) */
  proof?: ProofInfo
}

/**
 * Wraps this response's `writeHead` (every head goes through it, `res.end()` included, as in the
 * `on-headers` module) so the event carries the final status without waiting for a long SSE
 * stream to end; `close` covers a client that left before any head was written.
 */
export function trackResponse<Req>(
  cfg: ResolvedConfig<Req>,
  raw: IncomingMessage,
  res: ServerResponse,
  body: () => unknown,
  state: RequestState,
): void {
  let done = false
  const end = (aborted: boolean) => {
    if (done) return
    // Answered by the host, or gone, before the collector decided: the event waits for the
    // verdict (what the client presented and whether it would have been let in), never lost.
    if (state.pending) {
      state.endedWhilePending = true
      return
    }
    done = true
    try {
      record(cfg, raw, res, body, state, aborted)
    } catch (err) {
      cfg.warn('internal_error', err)
    }
  }
  const original = res.writeHead
  res.writeHead = function writeHead(this: ServerResponse, ...args: unknown[]) {
    res.writeHead = original
    const result = (original as (...a: unknown[]) => ServerResponse).apply(this, args)
    end(false)
    return result
  } as typeof res.writeHead
  res.once('close', () => end(!res.headersSent))
  state.recordNow = () => end(!res.headersSent)
}

function record<Req>(
  cfg: ResolvedConfig<Req>,
  raw: IncomingMessage,
  res: ServerResponse,
  body: () => unknown,
  state: RequestState,
  aborted: boolean,
): void {
  const status = aborted ? undefined : res.statusCode
  const appRejected = decisionFromStatus(status) === 'rejected'
  let decision: Decision
  let reason: Reason
  let rejectedBy: 'collector' | 'app' | undefined
  const d = state.decided
  if (d !== undefined && (d.decision === 'rejected' || !appRejected)) {
    ;({ decision, reason } = d)
    if (decision === 'rejected') rejectedBy = 'collector'
  } else if (!appRejected) {
    // Observe mode, served: a request without a token is an unprotected use, not a presentation.
    if (state.facts === undefined) return
    decision = 'accepted'
    reason = 'ok'
  } else {
    decision = 'rejected'
    rejectedBy = 'app'
    const appError = challengeError(res.getHeader('www-authenticate'))
    reason =
      state.malformed && state.facts !== undefined
        ? 'malformed'
        : rejectedReason(status, appError, state.facts, state.claims, {
            audiences: cfg.audiences,
            issuer: cfg.issuer,
            clockToleranceSec: cfg.clockToleranceSec,
            now: state.now,
          })
  }

  const fields: PresentedRecord = {
    occurredAt: state.occurredAt,
    facts: state.facts,
    verified: d?.verified ?? false,
    decision,
    reason,
    audValidated: cfg.mode === 'enforce' || cfg.appValidatesAudience,
    method: state.method,
    path: state.path,
    status,
    mcp: mcpFacts(raw.headers, readBody(body)),
    ip: state.ip,
    userAgent: userAgent(raw.headers['user-agent']),
    failure: d?.failure,
    rejectedBy,
    mcpSessionId: clip(raw.headers['mcp-session-id'], LIMITS.id),
    aborted,
    proof: state.facts === undefined ? undefined : state.proof,
  }
  if (state.token !== undefined) withoutToken(fields, state.token)
  let event: PresentedEventInput
  let built = cfg.baseVouched
  try {
    event = presentedEvent(cfg.base, fields)
  } catch (err) {
    built = false
    // What the request carried could not be built into the event: it is recorded without the
    // request's own text (tool, user agent, session), marked, rather than lost.
    cfg.warn('internal_error', err)
    event = presentedEvent(cfg.base, {
      ...fields,
      mcp: {},
      userAgent: undefined,
      mcpSessionId: undefined,
    })
    event.attributes = { ...event.attributes, reduced: ['tool', 'network.user_agent'] }
  }
  try {
    // Valid by construction (event.ts `vouched`): not parsed again on the request's time.
    if (built && vouched(event, fields)) cfg.emitBuilt(event as AuditEvent)
    else cfg.emitter.emit(event)
  } catch (err) {
    cfg.warn('emit_failed', err)
  }
}

/** Header facts, then the body's; the `traceparent` header wins over the body's `_meta` one. */
function mcpFacts(headers: IncomingMessage['headers'], body: unknown): McpFacts {
  const fromHeaders = mcpFromHeaders(headers)
  const facts = { ...fromHeaders, ...mcpFromBody(body) }
  if (fromHeaders.traceparent !== undefined) facts.traceparent = fromHeaders.traceparent
  return facts
}

/** A framework body getter that throws costs the tool fields, never the event. */
function readBody(body: () => unknown): unknown {
  try {
    return body()
  } catch {
    return undefined
  }
}

/**
 * The presented token cut from every text of the request copied into the event: a client that
 * copies its own token (an opaque one, which the JWT screen cannot recognise) into its user
 * agent, path, session id or a tool name never has it stored.
 */
function withoutToken(fields: PresentedRecord, token: string): void {
  if (token.length < MIN_TOKEN) return
  const cut = (s: string | undefined) => (s === undefined ? s : cutToken(s, token))
  fields.path = cutToken(fields.path, token)
  fields.userAgent = cut(fields.userAgent)
  fields.mcpSessionId = cut(fields.mcpSessionId)
  if (fields.proof?.htu !== undefined)
    fields.proof = { ...fields.proof, htu: cutToken(fields.proof.htu, token) }
  // The tool fields are rewritten in place (the object is this request's own, from mcp.ts).
  const m = fields.mcp
  for (const key of ['method', 'name', 'header_method', 'header_name'] as const)
    if (m[key] !== undefined) m[key] = cutToken(m[key], token)
  if (m.methods !== undefined) m.methods = m.methods.map((v) => cutToken(v, token))
  if (m.tools !== undefined) m.tools = m.tools.map((v) => cutToken(v, token))
  if (m.client?.name !== undefined) m.client.name = cutToken(m.client.name, token)
  if (m.client?.version !== undefined) m.client.version = cutToken(m.client.version, token)
}

/** Shorter tokens are not looked for (a few characters would cut ordinary words). */
const MIN_TOKEN = 8

/**
 * `s` with `token` replaced by the marker: where it appears whole, where a length bound cut the
 * copy inside it (the copy ends with the token's start), and all of `s` when it shows only with
 * percent-escapes decoded.
 */
function cutToken(s: string, token: string): string {
  let out = s.includes(token) ? s.replaceAll(token, RAW_JWT_REMOVED) : s
  const start = out.lastIndexOf(token.slice(0, MIN_TOKEN))
  if (start !== -1 && token.startsWith(out.slice(start)))
    out = out.slice(0, start) + RAW_JWT_REMOVED
  if (out.includes('%')) {
    try {
      if (decodeURIComponent(out).includes(token)) return RAW_JWT_REMOVED
    } catch {
      // not percent-encoded text
    }
  }
  return out
}
