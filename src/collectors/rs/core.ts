/** The request flow both framework adapters share: protect, extract, verify or decode, gate, track. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { JWTPayload } from 'jose'
import type { SourceKind } from '../../events/schema.js'
import { presentedToken } from './bearer.js'
import { detached } from './cache.js'
import { opaqueFacts, weighFacts, type TokenFacts } from './claims.js'
import { decodeToken, essentialClaims, lazyClaims, type Decoded } from './decode.js'
import type { MetadataRoute } from './metadata.js'
import type { CollectorLogger, CollectorOptions } from './options.js'
import { rejectionReply, type Rejection, type Reply } from './rejection.js'
import { resolveConfig, type ResolvedConfig } from './resolve.js'
import { ipAddress, requestPath } from './sanitize.js'
import { trackResponse, type RequestState } from './track.js'
import type { Verdict } from './verify.js'

/** What the host's handlers see as `req.audtrail` for a request that carried a token. */
export interface AudtrailRequestInfo {
  /** true only in enforce mode, for a token the collector verified and accepted */
  verified: boolean
  /** verified claims, or (observe mode) decoded unverified ones; undefined for a non-JWT */
  claims: JWTPayload | undefined
  fingerprint: string
  scopes: readonly string[]
  /** the token's `exp` (NumericDate), when it has one */
  expiresAt?: number
  clientId?: string
  subject?: string
}

export interface RequestView<Req> {
  /** the framework's request, handed to `protect` and `requiredScopes` */
  req: Req
  raw: IncomingMessage
  res: ServerResponse
  /** the request target as received at the server (before any router stripped a mount path) */
  url: string | undefined
  /**
   * the pattern of the route the host's router matched (Fastify `routeOptions.url`, e.g.
   * `/orders/:id`), undefined when unknown or unmatched: a second input to `protect` prefixes
   */
  route?: string | undefined
  /** other targets the host routes on (see ProtectTarget.alternates) */
  alternates?: readonly (string | undefined)[] | undefined
  /** the client address as the framework resolved it (trust-proxy aware) */
  ip: string | undefined
  /** the parsed body, read when the response starts (MCP JSON-RPC) */
  body(): unknown
}

/** `token` is handed back only for frameworks that must pass it on (the MCP SDK's `req.auth`). */
export type Gate = { kind: 'pass'; info?: AudtrailRequestInfo; token?: string } | Reply

export interface CollectorCore<Req> {
  readonly config: ResolvedConfig<Req>
  readonly metadata: MetadataRoute | undefined
  /** Never throws or rejects; synchronous unless a token needs verifying. */
  handle(view: RequestView<Req>): Gate | Promise<Gate>
}

const PASS: Gate = { kind: 'pass' }

/**
 * Decisions shared by both frameworks:
 * - Protected: every request but real CORS preflights (they carry no credentials) and GET/HEAD
 *   of the metadata paths, unless `protect` narrows it (prefixes judged as protect.ts says:
 *   canonical, route-aware, fail-closed). Unprotected requests are ignored (no event).
 * - Observe-mode and verified-token caches keep a token's bounded facts and `exp`/`iss` only,
 *   within `cacheSize` entries and `cacheBytes`; `req.audtrail.claims` of a cached token are
 *   decoded again when read.
 * - Token: `Authorization: Bearer` only (RFC 6750 2.1; MCP forbids query tokens). Another scheme
 *   counts as no token. Longer than `maxTokenLength` or not b64token syntax: `malformed`, never
 *   decoded. Only the fingerprint (HMAC with `fingerprintKey`) leaves the collector.
 * - Enforce: RFC 9068 4 via jose; verified tokens cached by fingerprint until `exp` plus leeway
 *   (at most 10 minutes), concurrent first uses verified once. A rejected token's claims are
 *   decoded (unverified) so the event still shows its `aud`, `jti` and client. The JWKS out of
 *   reach: 503, reason `other`. A collector failure: 500 (fails closed). `aud_validated: true`.
 * - Observe: never answers itself; the token is decoded, the host's status decides (401 and 403
 *   reject, anything else accepts), `aud_validated` is `appValidatesAudience`. A request without
 *   a token is recorded only when the host rejected it.
 * - One event per request, emitted when the response head is written; `issuer` is the token's
 *   own `iss` when it has one (evidence for `invalid_issuer`), else the configured issuer.
 */
export function createCore<Req>(
  options: CollectorOptions<Req>,
  defaults: { kind: SourceKind; logger?: CollectorLogger },
): CollectorCore<Req> {
  const cfg = resolveConfig(options, defaults)

  function reject(state: RequestState, r: Rejection, req: Req): Reply {
    state.decided = { decision: 'rejected', reason: r.reason, failure: r.failure, verified: false }
    return rejectionReply(r, cfg.resourceMetadataUrl, cfg.requiredScopes(req).join(' '))
  }

  function settle(state: RequestState, verdict: Verdict, token: string, req: Req): Gate {
    state.facts = verdict.facts
    state.claims = verdict.claims
    if (!verdict.ok) return reject(state, verdict, req)
    const missing = cfg.requiredScopes(req).filter((s) => !verdict.facts.scopes.includes(s))
    if (missing.length > 0) {
      const failure = `missing_scope:${missing.join(' ')}`.slice(0, 256)
      return reject(state, { reason: 'insufficient_scope', failure }, req)
    }
    state.decided = { decision: 'accepted', reason: 'ok', verified: true }
    const claims = verdict.remembered ? lazyClaims(token) : () => verdict.claims
    return { kind: 'pass', info: requestInfo(verdict.facts, claims, true), token }
  }

  function fail(err: unknown, state: RequestState | undefined, req: Req): Gate {
    cfg.warn('internal_error', err)
    if (cfg.mode === 'observe') return PASS
    // Enforce mode fails closed: a request the collector could not judge is never let through.
    const r: Rejection = { reason: 'other', failure: 'internal_error', status: 500 }
    if (state === undefined) return rejectionReply(r, cfg.resourceMetadataUrl, '')
    try {
      return reject(state, r, req)
    } catch {
      return rejectionReply(r, cfg.resourceMetadataUrl, '')
    }
  }

  /**
   * Observe mode: the facts of a token, decoded once while it is cached. The cache keeps the
   * bounded facts and `exp`/`iss` only, within its byte budget; `claims` of a cached token are
   * decoded again if the host reads them.
   */
  function decodeCached(
    token: string,
    fingerprint: string,
    now: number,
  ): { decoded: Decoded; claims: () => JWTPayload | undefined } {
    const hit = cfg.decoded.get(fingerprint, now)
    if (hit !== undefined) return { decoded: hit, claims: lazyClaims(token) }
    const decoded = decodeToken(token, fingerprint)
    const exp = decoded.claims?.exp
    if (typeof exp === 'number') {
      // Copied: a string cut from a claim would otherwise keep the whole claim alive (V8).
      const kept = detached({ facts: decoded.facts, claims: essentialClaims(decoded.claims) })
      cfg.decoded.set(fingerprint, kept, exp * 1000, now, weighFacts(kept.facts, kept.claims))
    }
    return { decoded, claims: () => decoded.claims }
  }

  function handle(view: RequestView<Req>): Gate | Promise<Gate> {
    let state: RequestState | undefined
    try {
      const { raw, req } = view
      const path = requestPath(view.url)
      const method = raw.method ?? 'GET'
      const target = {
        path,
        url: view.url,
        method,
        headers: raw.headers,
        route: view.route,
        alternates: view.alternates,
      }
      if (!cfg.isProtected(req, target)) return PASS
      const now = Date.now()
      const ip = ipAddress(view.ip ?? raw.socket?.remoteAddress)
      state = { occurredAt: new Date(now).toISOString(), now, method, path, ip, malformed: false }
      trackResponse(cfg, raw, view.res, view.body, state)

      const presented = presentedToken(raw.headers.authorization, cfg.maxTokenLength)
      if (presented.kind === 'none') {
        if (cfg.mode === 'observe') return PASS
        return reject(state, { reason: 'missing_token', failure: 'no_bearer_token' }, req)
      }
      const { token } = presented
      state.token = token
      const fingerprint = cfg.fingerprint(token)
      if (presented.malformed) {
        state.malformed = true
        state.facts = opaqueFacts(fingerprint, !presented.oversized)
        if (cfg.mode === 'observe')
          return { kind: 'pass', info: requestInfo(state.facts, NO_CLAIMS, false) }
        const failure = presented.oversized ? 'token_too_large' : 'token_syntax'
        return reject(state, { reason: 'malformed', failure }, req)
      }
      if (cfg.verifier === undefined) {
        const { decoded, claims } = decodeCached(token, fingerprint, now)
        state.facts = decoded.facts
        state.claims = decoded.claims
        return { kind: 'pass', info: requestInfo(decoded.facts, claims, false) }
      }
      const verdict = cfg.verifier.verify(token, fingerprint, now)
      if (!(verdict instanceof Promise)) return settle(state, verdict, token, req)
      const s = state
      s.pending = true
      // Until the verdict, a client that leaves is recorded with what it presented.
      s.facts = opaqueFacts(fingerprint, false)
      const decided = (gate: Gate) => {
        s.pending = false
        if (s.endedWhilePending) s.recordNow?.()
        return gate
      }
      return verdict.then(
        (v) => {
          try {
            return decided(settle(s, v, token, req))
          } catch (err) {
            return decided(fail(err, s, req))
          }
        },
        (err: unknown) => decided(fail(err, s, req)),
      )
    } catch (err) {
      return fail(err, state, view.req)
    }
  }

  return { config: cfg, metadata: cfg.metadata, handle }
}

const NO_CLAIMS = () => undefined

/** `claims` is read when the host reads it: a cached token's are decoded again only then. */
function requestInfo(
  facts: TokenFacts,
  claims: () => JWTPayload | undefined,
  verified: boolean,
): AudtrailRequestInfo {
  const out = {
    verified,
    fingerprint: facts.token.fingerprint!,
    scopes: facts.scopes,
  } as AudtrailRequestInfo
  Object.defineProperty(out, 'claims', { get: claims, enumerable: true, configurable: true })
  if (facts.token.exp !== undefined) out.expiresAt = facts.token.exp
  if (facts.clientId !== undefined) out.clientId = facts.clientId
  if (facts.subject !== undefined) out.subject = facts.subject
  return out
}
