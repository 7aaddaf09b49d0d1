/** Turns validated options into what one request needs: predicates, fingerprinting, verifier, base event. */
import * as nodeCrypto from 'node:crypto'
import { fingerprintToken } from '../../events/fingerprint.js'
import type { SourceKind } from '../../events/schema.js'
import type { Emitter } from '../types.js'
import { DEFAULT_CACHE_BYTES, ExpiringLru } from './cache.js'
import type { Decoded } from './decode.js'
import { baseVouched, type EventBase } from './event.js'
import { builtEventSink } from '../emitter/built.js'
import type { AuditEvent } from '../../events/schema.js'
import { throttledWarn, type Warn } from './log.js'
import { metadataRoute, metadataUrlFor, type MetadataRoute } from './metadata.js'
import { isCorsPreflight, prefixMatcher, type ProtectTarget } from './protect.js'
import { ASYMMETRIC_ALGORITHMS } from '../../jwt-algorithms.js'
import {
  RFC9068_CLAIMS,
  validateOptions,
  type CollectorLogger,
  type CollectorOptions,
} from './options.js'
import { createKeySet, createVerifier, type Verifier } from './verify.js'
import { DEFAULT_IAT_SKEW_SEC, DEFAULT_IAT_WINDOW_SEC, type ProofSettings } from './dpop.js'

export interface ResolvedConfig<Req> {
  mode: 'enforce' | 'observe'
  emitter: Emitter
  /** the emitter's path for vouched events (emitter/built.ts); its `emit` when not audtrail's */
  emitBuilt: (event: AuditEvent) => void
  base: EventBase
  /** the base passes the contract: events may be vouched for (event.ts `vouched`) */
  baseVouched: boolean
  /** the resource, then its aliases */
  audiences: readonly string[]
  issuer: string
  appValidatesAudience: boolean
  clockToleranceSec: number
  maxTokenLength: number
  fingerprint(token: string): string
  /** see protect.ts: canonical, case-insensitive prefixes; an unnormalisable target is protected */
  isProtected(req: Req, target: ProtectTarget): boolean
  requiredScopes(req: Req): readonly string[]
  metadata: MetadataRoute | undefined
  resourceMetadataUrl: string
  /** enforce mode only */
  verifier: Verifier | undefined
  /** observe mode: decoded tokens by fingerprint */
  decoded: ExpiringLru<Decoded>
  warn: Warn
  /** DPoP proofs are accepted and checked (undefined: the DPoP scheme counts as no token) */
  dpop: ProofSettings | undefined
}

export function resolveConfig<Req>(
  input: CollectorOptions<Req>,
  defaults: { kind: SourceKind; logger?: CollectorLogger },
): ResolvedConfig<Req> {
  const o = validateOptions(input)
  const clockToleranceSec = o.clockToleranceSec ?? 60
  const cacheSize = o.cacheSize ?? 10_000
  const cacheBytes = o.cacheBytes ?? DEFAULT_CACHE_BYTES
  const audiences = [o.resource, ...(o.audiences ?? []).filter((a) => a !== o.resource)]
  const staticScopes = typeof o.requiredScopes === 'function' ? undefined : o.requiredScopes
  const scopesFn = typeof o.requiredScopes === 'function' ? o.requiredScopes : undefined
  const metadata =
    o.protectedResourceMetadata === undefined || o.protectedResourceMetadata === false
      ? undefined
      : metadataRoute(
          o.resource,
          o.issuer,
          o.protectedResourceMetadata === true ? {} : o.protectedResourceMetadata,
          staticScopes,
        )
  // Served to GET and HEAD of the exact path only (any other spelling is judged like the rest).
  const metadataPaths = new Set(metadata?.paths ?? [])
  const protect = o.protect
  const prefixes = typeof protect === 'string' ? [protect] : Array.isArray(protect) ? protect : []
  const underPrefix = prefixes.length === 0 ? undefined : prefixMatcher(prefixes)
  const key = o.fingerprintKey
  const base: EventBase = {
    tenant: o.tenant ?? 'default',
    source: o.source ?? { kind: defaults.kind, id: o.resource.slice(0, 256) },
    resource: o.resource,
    issuer: o.issuer,
    mode: o.mode,
  }

  return {
    mode: o.mode,
    emitter: o.emitter,
    emitBuilt: builtEventSink(o.emitter),
    base,
    baseVouched: baseVouched(base),
    audiences,
    issuer: o.issuer,
    appValidatesAudience: o.appValidatesAudience ?? false,
    clockToleranceSec,
    maxTokenLength: o.maxTokenLength ?? 16_384,
    // Not memoized by the raw token: a memo keyed by tokens would keep bearer tokens on the heap
    // past their requests (docs/design/collector-cost.md).
    fingerprint: fingerprinter(key),
    // CORS preflights never carry credentials; the metadata must stay reachable without a token.
    isProtected(req, target) {
      const { method } = target
      if (isCorsPreflight(method, target.headers)) return false
      if ((method === 'GET' || method === 'HEAD') && metadataPaths.has(target.path)) return false
      if (typeof protect === 'function') return (protect as (r: Req) => boolean)(req)
      return underPrefix === undefined || underPrefix(target)
    },
    requiredScopes: (req) =>
      scopesFn !== undefined ? (scopesFn(req) ?? []) : (staticScopes ?? []),
    metadata,
    resourceMetadataUrl: o.resourceMetadataUrl ?? metadataUrlFor(o.resource),
    verifier:
      o.mode === 'enforce' && o.jwks !== undefined
        ? createVerifier({
            keySet: createKeySet(o.jwks, o.jwksFetch),
            issuer: o.issuer,
            audiences,
            algorithms: o.algorithms ?? ASYMMETRIC_ALGORITHMS,
            requiredClaims: o.requiredClaims ?? RFC9068_CLAIMS,
            clockToleranceSec,
            cacheSize,
            cacheBytes,
          })
        : undefined,
    decoded: new ExpiringLru<Decoded>(o.mode === 'observe' ? cacheSize : 0, cacheBytes),
    warn: throttledWarn(o.logger ?? defaults.logger),
    dpop:
      o.dpop === false
        ? undefined
        : {
            algorithms: o.dpop?.algorithms ?? o.algorithms ?? ASYMMETRIC_ALGORITHMS,
            iatWindowSec: o.dpop?.iatWindowSec ?? DEFAULT_IAT_WINDOW_SEC,
            iatSkewSec: o.dpop?.iatSkewSec ?? DEFAULT_IAT_SKEW_SEC,
            origin: o.dpop?.origin ?? httpOrigin(o.resource),
          },
  }
}

/** The origin of an http(s) resource identifier: where its clients send requests. */
function httpOrigin(resource: string): string | undefined {
  try {
    const u = new URL(resource)
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.origin : undefined
  } catch {
    return undefined
  }
}

/**
 * fingerprintToken, the same value (test/collectors/rs-cost.test.ts): without a key, Node's
 * one-shot `hash` (20.12 and later), about half the cost of a Hash object on every request.
 */
function fingerprinter(key: string | Uint8Array | undefined): (token: string) => string {
  // Read from the namespace: an older Node without it falls back rather than failing to load.
  const hash = (nodeCrypto as Partial<typeof nodeCrypto>).hash
  if (key === undefined && typeof hash === 'function')
    return (token) => {
      if (token.length === 0) return fingerprintToken(token)
      return hash('sha256', token, 'base64url')
    }
  return (token) => fingerprintToken(token, key)
}
