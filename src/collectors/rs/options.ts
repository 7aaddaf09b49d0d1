/** Options of the resource-server collectors (Fastify and Express), validated once with zod. */
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose'
import { z } from 'zod'
import { ConfigError } from '../../errors.js'
import { canonicalizeResource } from '../../events/resource.js'
import { Scope, Tenant } from '../../events/schema.js'
import { ASYMMETRIC_ALGORITHMS } from '../../jwt-algorithms.js'
import type { Emitter } from '../types.js'

/** RFC 9068 section 2.2: claims every JWT access token carries. */
export const RFC9068_CLAIMS = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'] as const

export type JwsAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number]
export type CollectorMode = 'enforce' | 'observe'

/** pino-compatible; the collectors only ever log their own failures, never a token. */
export interface CollectorLogger {
  warn(obj: object, msg: string): void
}

export interface ProtectedResourceMetadataOptions {
  /** `scopes_supported`; defaults to `requiredScopes` when that is a list */
  scopesSupported?: readonly string[]
  /** `authorization_servers`; defaults to `[issuer]` */
  authorizationServers?: readonly string[]
  resourceName?: string
  resourceDocumentation?: string
  /** for a resource with a path, also answer at the root well-known URI (default true) */
  serveRoot?: boolean
  /** further RFC 9728 members; they never override the ones above */
  extra?: Record<string, unknown>
}

export interface CollectorOptions<Req> {
  /**
   * this server's resource identifier (RFC 8707 / RFC 9728: an https URL, http on loopback only),
   * as the AS puts it in `aud`; other spellings the AS uses (`api://...`) go in `audiences`
   */
  resource: string
  /** the trusted AS issuer; `iss` must equal it exactly */
  issuer: string
  /** JWKS URL (remote, rotated), a local JWK set, or a jose key function; required to enforce */
  jwks?: string | URL | JSONWebKeySet | JWTVerifyGetKey
  /** remote JWKS fetching (jose defaults: cooldown 30 s, max age 10 min, timeout 5 s) */
  jwksFetch?: { cooldownMs?: number; cacheMaxAgeMs?: number; timeoutMs?: number }
  mode: CollectorMode
  emitter: Emitter
  requiredScopes?: readonly string[] | ((req: Req) => readonly string[] | undefined)
  protectedResourceMetadata?: boolean | ProtectedResourceMetadataOptions
  /** where the metadata is published, when not derivable from `resource` (RFC 9728 3.1) */
  resourceMetadataUrl?: string
  /** observe mode: the host application checks `aud` itself (default false) */
  appValidatesAudience?: boolean
  /** other `aud` values that name this server (aliases), accepted by exact match like `resource` */
  audiences?: readonly string[]
  source?: { kind: 'resource_server' | 'mcp_server' | 'gateway'; id: string }
  tenant?: string
  /** HMAC key for fingerprints, shared with the AS collector */
  fingerprintKey?: string | Uint8Array
  /** leeway for `exp` / `nbf` in seconds (default 60) */
  clockToleranceSec?: number
  algorithms?: readonly JwsAlgorithm[]
  /** claims a token must carry (default RFC 9068 2.2: iss exp aud sub client_id iat jti) */
  requiredClaims?: readonly string[]
  /** which requests need a token: a predicate, or path prefixes (default: all but the metadata) */
  protect?: ((req: Req) => boolean) | string | readonly string[]
  /** longer bearer tokens are `malformed` without being decoded (default 16384) */
  maxTokenLength?: number
  /**
   * tokens remembered by fingerprint (verified ones in enforce mode, decoded ones in observe
   * mode), at most this many (default 10000; 0 disables)
   */
  cacheSize?: number
  /**
   * and at most this many bytes of heap, as estimated from the strings each entry keeps (default
   * 32 MiB; an entry over a tenth of it is not kept). Entries hold a token's bounded facts and
   * `exp`/`iss`, never its payload, so this bounds the cache whatever tokens are sent.
   */
  cacheBytes?: number
  logger?: CollectorLogger
  /**
   * DPoP (RFC 9449): accepted by default with `Authorization: DPoP` and verified per section 4.3
   * (enforce mode refuses a failed proof; observe mode records it); `false` treats the DPoP
   * scheme as no token, as before.
   */
  dpop?: false | DpopOptions
}

export interface DpopOptions {
  /** algorithms a proof may use (default: the asymmetric ones; never `none` or HMAC) */
  algorithms?: readonly JwsAlgorithm[]
  /** how old a proof's `iat` may be, in seconds (default 300) */
  iatWindowSec?: number
  /** how far in the future a proof's `iat` may be (clock skew), in seconds (default 60) */
  iatSkewSec?: number
  /**
   * the public origin clients send requests to (`https://api.example.com`), which each proof's
   * `htu` must name; default: the origin of `resource` when it is an http(s) URL, else the
   * request's Host header
   */
  origin?: string
}

const isFn = (v: unknown) => typeof v === 'function'
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i

/** https, or http on a loopback host (development); no fragment. */
function secureUrl(v: string | URL): boolean {
  try {
    const u = new URL(String(v))
    if (u.hash !== '' || String(v).includes('#')) return false
    return u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK.test(u.hostname))
  } catch {
    return false
  }
}

const url = (what: string) =>
  z.string().refine(secureUrl, `must be an https URL of ${what} (http only on loopback)`)

const Schema = z.strictObject({
  resource: url('this resource').refine((v) => canonicalizeResource(v).valid, 'invalid URI'),
  issuer: url('the authorization server'),
  jwks: z
    .union([
      url('a JWK set'),
      z.instanceof(URL).refine(secureUrl, 'must be https (http only on loopback)'),
      z.looseObject({ keys: z.array(z.looseObject({})).min(1) }),
      z.custom<JWTVerifyGetKey>(isFn),
    ])
    .optional(),
  jwksFetch: z
    .strictObject({
      cooldownMs: z.number().int().min(0).optional(),
      cacheMaxAgeMs: z.number().int().min(0).optional(),
      timeoutMs: z.number().int().min(1).optional(),
    })
    .optional(),
  mode: z.enum(['enforce', 'observe']),
  emitter: z.custom<Emitter>((v) => isFn((v as Emitter | undefined)?.emit), 'must have emit()'),
  requiredScopes: z.union([z.array(Scope), z.custom<() => unknown>(isFn)]).optional(),
  protectedResourceMetadata: z
    .union([
      z.boolean(),
      z.strictObject({
        scopesSupported: z.array(Scope).optional(),
        authorizationServers: z.array(url('an authorization server')).min(1).optional(),
        resourceName: z.string().min(1).optional(),
        resourceDocumentation: z.url().optional(),
        serveRoot: z.boolean().optional(),
        extra: z.record(z.string(), z.unknown()).optional(),
      }),
    ])
    .optional(),
  resourceMetadataUrl: url('the protected resource metadata').optional(),
  appValidatesAudience: z.boolean().optional(),
  audiences: z.array(z.string().min(1).max(2048)).optional(),
  source: z
    .strictObject({
      kind: z.enum(['resource_server', 'mcp_server', 'gateway']),
      id: z.string().min(1).max(256),
    })
    .optional(),
  tenant: Tenant.optional(),
  fingerprintKey: z.union([z.string().min(1), z.instanceof(Uint8Array)]).optional(),
  clockToleranceSec: z.number().int().min(0).max(600).optional(),
  algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1).optional(),
  requiredClaims: z.array(z.string().min(1)).optional(),
  protect: z
    .union([z.string().startsWith('/'), z.array(z.string().startsWith('/')), z.custom(isFn)])
    .optional(),
  maxTokenLength: z.number().int().min(256).max(1_048_576).optional(),
  cacheSize: z.number().int().min(0).max(10_000_000).optional(),
  cacheBytes: z
    .number()
    .int()
    .min(64 << 10)
    .max(16 * 2 ** 30)
    .optional(),
  logger: z
    .custom<CollectorLogger>((v) => isFn((v as CollectorLogger | undefined)?.warn))
    .optional(),
  dpop: z
    .union([
      z.literal(false),
      z.strictObject({
        algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1).optional(),
        iatWindowSec: z.number().int().min(1).max(86_400).optional(),
        iatSkewSec: z.number().int().min(0).max(600).optional(),
        origin: url('the public origin').optional(),
      }),
    ])
    .optional(),
})

/** Validates options, reporting every problem at once as a ConfigError (`option: problem`). */
export function validateOptions<Req>(options: CollectorOptions<Req>): CollectorOptions<Req> {
  const parsed = Schema.safeParse(options)
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`)
  if (options?.mode === 'enforce' && options.jwks === undefined)
    problems.push('jwks: required in enforce mode')
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `audtrail collector: ${p}`))
  return options
}
