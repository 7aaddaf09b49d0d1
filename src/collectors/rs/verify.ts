/** Enforce mode: RFC 9068 section 4 validation with jose, and a cache of verified tokens. */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose'
import { DEFAULT_CACHE_BYTES, detached, ExpiringLru } from './cache.js'
import { factsFromClaims, weighFacts, type TokenFacts } from './claims.js'
import { decodeToken, essentialClaims } from './decode.js'
import { failureFromJose, KeySetUnavailable, type Failure } from './jose-errors.js'
import type { CollectorOptions } from './options.js'

export type Verdict =
  /** `remembered`: from the cache, `claims` holds only `exp` and `iss` (see essentialClaims) */
  | { ok: true; facts: TokenFacts; claims: JWTPayload; remembered?: true }
  | ({ ok: false; facts: TokenFacts; claims?: JWTPayload } & Failure)

export interface Verifier {
  /** Synchronous on a cache hit; never rejects. */
  verify(token: string, fingerprint: string, now: number): Verdict | Promise<Verdict>
}

// Errors that describe the token (its kid, alg or key type), not the availability of the JWKS.
const TOKEN_ERRORS = new Set([
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JWK_INVALID',
])

/** A jose key function for the `jwks` option; a remote set is refetched on unknown `kid` (rotation). */
export function createKeySet(
  jwks: NonNullable<CollectorOptions<unknown>['jwks']>,
  fetch: CollectorOptions<unknown>['jwksFetch'] = {},
): JWTVerifyGetKey {
  if (typeof jwks === 'function') return jwks
  if (typeof jwks === 'object' && !(jwks instanceof URL))
    return createLocalJWKSet(jwks as JSONWebKeySet)
  const remote = createRemoteJWKSet(new URL(String(jwks)), {
    cooldownDuration: fetch.cooldownMs,
    cacheMaxAge: fetch.cacheMaxAgeMs,
    timeoutDuration: fetch.timeoutMs,
  })
  return async (header, token) => {
    try {
      return await remote(header, token)
    } catch (err) {
      if (TOKEN_ERRORS.has((err as { code?: string }).code ?? '')) throw err
      throw new KeySetUnavailable('the JWKS could not be fetched', { cause: err })
    }
  }
}

export interface VerifierConfig {
  keySet: JWTVerifyGetKey
  issuer: string
  /** the resource first, then its aliases: `aud` must contain one of them exactly */
  audiences: readonly string[]
  algorithms: readonly string[]
  requiredClaims: readonly string[]
  clockToleranceSec: number
  cacheSize: number
  /** byte budget of the cache (see weighFacts; default DEFAULT_CACHE_BYTES) */
  cacheBytes?: number
}

export function createVerifier(config: VerifierConfig): Verifier {
  const cache = new ExpiringLru<Verdict>(config.cacheSize, config.cacheBytes ?? DEFAULT_CACHE_BYTES)
  const options: JWTVerifyOptions = {
    issuer: config.issuer,
    audience: [...config.audiences],
    algorithms: [...config.algorithms],
    // RFC 9068 2.1: `at+jwt`; jose compares case-insensitively and with or without `application/`.
    typ: 'at+jwt',
    requiredClaims: [...config.requiredClaims],
    clockTolerance: config.clockToleranceSec,
  }
  const leewayMs = config.clockToleranceSec * 1000

  // Concurrent requests with the same new token (parallel tool calls) share one verification.
  const pending = new Map<string, Promise<Verdict>>()

  return {
    verify(token, fingerprint, now) {
      const hit = cache.get(fingerprint, now)
      if (hit !== undefined) return hit
      const running = pending.get(fingerprint)
      if (running !== undefined) return running
      const verdict = jwtVerify(token, config.keySet, options).then(
        ({ payload }): Verdict => {
          const facts = factsFromClaims(payload, fingerprint)
          // No cache (cacheSize 0): nothing is kept, so nothing is copied or weighed either.
          if (config.cacheSize === 0) return { ok: true, facts, claims: payload }
          // Without `exp` (only if not required), the entry age bound alone applies.
          const until = typeof payload.exp === 'number' ? payload.exp * 1000 + leewayMs : Infinity
          // Copied: a string cut from a claim would otherwise keep the whole claim alive (V8).
          const kept: Verdict = detached({
            ok: true,
            facts,
            claims: essentialClaims(payload)!,
            remembered: true,
          })
          cache.set(fingerprint, kept, until, now, weighFacts(facts, kept.claims))
          return { ok: true, facts, claims: payload }
        },
        (err: unknown): Verdict => ({
          ok: false,
          ...decodeToken(token, fingerprint),
          ...failureFromJose(err),
        }),
      )
      if (config.cacheSize === 0) return verdict
      pending.set(fingerprint, verdict)
      // Not `finally`: its derived promise would reject unhandled if `verdict` ever did.
      const forget = () => pending.delete(fingerprint)
      verdict.then(forget, forget)
      return verdict
    },
  }
}
