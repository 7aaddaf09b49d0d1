/** Records one request at its end: when the response head is written, or when the client goes away. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { JWTPayload } from 'jose'
import { LIMITS, type Decision, type Reason } from '../../events/schema.js'
import type { TokenFacts } from './claims.js'
import { decisionFromStatus, rejectedReason } from './decision.js'
import { presentedEvent, type PresentedEventInput, type PresentedRecord } from './event.js'
import { mcpFromBody, mcpFromHeaders } from './mcp.js'
import type { ResolvedConfig } from './resolve.js'
import { clip } from './sanitize.js'
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
  /** the client left while the token was being verified: recorded once the verdict is in */
  leftWhilePending?: boolean
  /** records the request now, as aborted (set by trackResponse) */
  recordAborted?: () => void
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
    // Gone before the collector decided: the event waits for the verdict (it says what the
    // client presented and whether it would have been let in), never lost.
    if (aborted && state.pending) {
      state.leftWhilePending = true
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
  state.recordAborted = () => end(true)
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
    mcp: { ...mcpFromHeaders(raw.headers), ...mcpFromBody(readBody(body)) },
    ip: state.ip,
    userAgent: clip(raw.headers['user-agent'], LIMITS.userAgent),
    failure: d?.failure,
    rejectedBy,
    mcpSessionId: clip(raw.headers['mcp-session-id'], LIMITS.id),
    aborted,
  }
  let event: PresentedEventInput
  try {
    event = presentedEvent(cfg.base, fields)
  } catch (err) {
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
    cfg.emitter.emit(event)
  } catch (err) {
    cfg.warn('emit_failed', err)
  }
}

/** A framework body getter that throws costs the tool fields, never the event. */
function readBody(body: () => unknown): unknown {
  try {
    return body()
  } catch {
    return undefined
  }
}
