/** The request flow both framework adapters share: protect, extract, verify or decode, gate, track. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { JWTPayload } from 'jose'
import type { ProofInfo, SourceKind } from '../../events/schema.js'
import { presentedToken } from './bearer.js'
import {
  checkDpopProof,
  clientCertThumbprint,
  judgeBinding,
  type ProofCheck,
  type Scheme,
} from './dpop.js'
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
  /**
   * proof of possession: the scheme and the verdict (`valid` for a DPoP proof or client
   * certificate that matches the token's `cnf`; see the contract's `proof`)
   */
  proof?: { scheme: Scheme; verdict: string; jkt?: string }
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

  const algs = cfg.dpop?.algorithms.join(' ') ?? ''

  function reject(state: RequestState, r: Rejection, req: Req): Reply {
    state.decided = { decision: 'rejected', reason: r.reason, failure: r.failure, verified: false }
    // The DPoP scheme, or a DPoP-bound token, is answered with a DPoP challenge (RFC 9449 7.1).
    // (A copy: a failed verdict may be shared by concurrent requests with other schemes.)
    if (r.dpop === undefined && cfg.dpop !== undefined && r.status !== 500 && r.status !== 503)
      if (state.scheme === 'DPoP' || state.facts?.token.cnf?.jkt !== undefined)
        r = { reason: r.reason, failure: r.failure, status: r.status, dpop: { algs } }
    return rejectionReply(r, cfg.resourceMetadataUrl, cfg.requiredScopes(req).join(' '))
  }

  /**
   * The proof facts of the request (DPoP proof, client certificate) against the token's `cnf`;
   * in enforce mode, a failed binding refuses the request (reason `other`, the failure named).
   */
  function bind(state: RequestState, check: ProofCheck | undefined): Rejection | undefined {
    if (state.scheme === undefined) return undefined
    const b = judgeBinding(state.scheme, state.facts?.token.cnf, check, state.cert)
    state.proof = b.proof
    if (b.failure === undefined || cfg.mode === 'observe') return undefined
    const dpop = state.scheme === 'DPoP' || state.facts?.token.cnf?.jkt !== undefined
    return {
      reason: 'other',
      failure: b.failure,
      ...(dpop
        ? { dpop: { algs, problem: b.proofError ? 'proof' : 'binding' } }
        : { binding: true }),
    }
  }

  function settle(
    state: RequestState,
    verdict: Verdict,
    token: string,
    req: Req,
    check: ProofCheck | undefined,
  ): Gate {
    state.facts = verdict.facts
    state.claims = verdict.claims
    const refused = bind(state, check)
    if (!verdict.ok) return reject(state, verdict, req)
    if (refused !== undefined) return reject(state, refused, req)
    const missing = cfg.requiredScopes(req).filter((s) => !verdict.facts.scopes.includes(s))
    if (missing.length > 0) {
      const failure = `missing_scope:${missing.join(' ')}`.slice(0, 256)
      return reject(state, { reason: 'insufficient_scope', failure }, req)
    }
    state.decided = { decision: 'accepted', reason: 'ok', verified: true }
    const claims = verdict.remembered ? lazyClaims(token) : () => verdict.claims
    return { kind: 'pass', info: requestInfo(verdict.facts, claims, true, state.proof), token }
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

      const presented = presentedToken(
        raw.headers.authorization,
        cfg.maxTokenLength,
        cfg.dpop !== undefined,
      )
      if (presented.kind === 'none') {
        if (cfg.mode === 'observe') return PASS
        return reject(state, { reason: 'missing_token', failure: 'no_bearer_token' }, req)
      }
      const { token } = presented
      state.token = token
      state.scheme = presented.scheme
      state.cert = clientCertThumbprint(raw.socket)
      const fingerprint = cfg.fingerprint(token)
      if (presented.malformed) {
        state.malformed = true
        state.facts = opaqueFacts(fingerprint, !presented.oversized)
        state.proof = { scheme: presented.scheme, verdict: 'unchecked' }
        if (cfg.mode === 'observe')
          return { kind: 'pass', info: requestInfo(state.facts, NO_CLAIMS, false, state.proof) }
        const failure = presented.oversized ? 'token_too_large' : 'token_syntax'
        return reject(state, { reason: 'malformed', failure }, req)
      }
      // RFC 9449 4.3: the proof is checked whatever the token's verdict (the event shows both).
      const check =
        presented.scheme === 'DPoP' && cfg.dpop !== undefined
          ? checkDpopProof(
              {
                header: raw.headers.dpop,
                method,
                url: view.url,
                host: raw.headers.host,
                encrypted: (raw.socket as { encrypted?: boolean } | undefined)?.encrypted === true,
                token,
                now,
                fingerprint: cfg.fingerprint,
              },
              cfg.dpop,
            )
          : undefined
      const s = state
      if (cfg.verifier === undefined) {
        const { decoded, claims } = decodeCached(token, fingerprint, now)
        s.facts = decoded.facts
        s.claims = decoded.claims
        const observed = (c: ProofCheck | undefined): Gate => {
          bind(s, c)
          return { kind: 'pass', info: requestInfo(decoded.facts, claims, false, s.proof) }
        }
        if (check === undefined) return observed(undefined)
        return pendingUntil(s, check, observed, req)
      }
      const verdict = cfg.verifier.verify(token, fingerprint, now)
      if (!(verdict instanceof Promise) && check === undefined)
        return settle(s, verdict, token, req, undefined)
      // Until the verdict, a client that leaves is recorded with what it presented.
      s.facts = opaqueFacts(fingerprint, false)
      const both = Promise.all([verdict, check])
      return pendingUntil(s, both, ([v, c]) => settle(s, v, token, req, c), req)
    } catch (err) {
      return fail(err, state, view.req)
    }
  }

  /**
   * The gate once `work` is done: the request's event waits for it (the host may answer, or the
   * client leave, meanwhile); `work` never rejects, but a throw still fails as fail() says.
   */
  function pendingUntil<T>(
    s: RequestState,
    work: Promise<T>,
    then: (value: T) => Gate,
    req: Req,
  ): Promise<Gate> {
    s.pending = true
    const decided = (gate: Gate) => {
      s.pending = false
      if (s.endedWhilePending) s.recordNow?.()
      return gate
    }
    return work.then(
      (value) => {
        try {
          return decided(then(value))
        } catch (err) {
          return decided(fail(err, s, req))
        }
      },
      (err: unknown) => decided(fail(err, s, req)),
    )
  }

  return { config: cfg, metadata: cfg.metadata, handle }
}

const NO_CLAIMS = () => undefined

/** `claims` is read when the host reads it: a cached token's are decoded again only then. */
function requestInfo(
  facts: TokenFacts,
  claims: () => JWTPayload | undefined,
  verified: boolean,
  proof?: ProofInfo,
): AudtrailRequestInfo {
  // A literal with its getter (own, enumerable, configurable): cheaper than defineProperty.
  const out: AudtrailRequestInfo = {
    verified,
    get claims() {
      return claims()
    },
    fingerprint: facts.token.fingerprint!,
    scopes: facts.scopes,
  }
  if (facts.token.exp !== undefined) out.expiresAt = facts.token.exp
  if (facts.clientId !== undefined) out.clientId = facts.clientId
  if (facts.subject !== undefined) out.subject = facts.subject
  if (proof !== undefined) {
    out.proof = { scheme: proof.scheme, verdict: proof.verdict }
    if (proof.jkt !== undefined) out.proof.jkt = proof.jkt
  }
  return out
}
