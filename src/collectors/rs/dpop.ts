/**
 * Proof of possession of a presented token: the DPoP proof (RFC 9449 section 4.3) and the TLS
 * client certificate (RFC 8705 section 3), judged against the token's `cnf`. Pure decisions over
 * what the request carried; the core turns them into a gate and an event.
 */
import { createHash } from 'node:crypto'
import type { TLSSocket } from 'node:tls'
import {
  calculateJwkThumbprint,
  decodeJwt,
  decodeProtectedHeader,
  EmbeddedJWK,
  jwtVerify,
  type JWK,
} from 'jose'
import { LIMITS, type ProofInfo, type TokenInfo } from '../../events/schema.js'
import { clip } from './sanitize.js'

/** Default acceptable age of a proof's `iat` (RFC 9449 11.1: "a few seconds or minutes"). */
export const DEFAULT_IAT_WINDOW_SEC = 300
/** Future `iat` tolerated for clock skew. */
export const DEFAULT_IAT_SKEW_SEC = 60
/** A proof is small (a header with a public JWK, five claims); anything larger is not looked at. */
export const MAX_PROOF_LENGTH = 8192

const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/
const METHOD = /^[A-Za-z]{1,16}$/

export interface ProofSettings {
  /** asymmetric algorithms a proof may use (`none` and HMAC never) */
  algorithms: readonly string[]
  iatWindowSec: number
  iatSkewSec: number
  /** the public origin (`https://host[:port]`) the `htu` of proofs must name */
  origin: string | undefined
}

export interface ProofInput {
  /** the `DPoP` request header(s) as received */
  header: string | string[] | undefined
  method: string
  /** the request target as received (`/path?query` or absolute form) */
  url: string | undefined
  /** the request's `Host`, and whether it came over TLS: the origin when none is configured */
  host: string | undefined
  encrypted: boolean
  /** the access token the proof must be bound to (`ath`) */
  token: string
  now: number
  fingerprint(value: string): string
}

/** What a DPoP proof showed, before it is compared with the token's `cnf`. */
export interface ProofCheck {
  facts: Omit<ProofInfo, 'scheme' | 'verdict' | 'failure' | 'cert_thumbprint'>
  /** the first check that failed (RFC 9449 4.3 order), undefined when every check passed */
  failure?: string
}

/** RFC 9449 4.3 checks 1 to 12 (nonce aside: no nonce is ever asked for). Never rejects. */
export async function checkDpopProof(input: ProofInput, s: ProofSettings): Promise<ProofCheck> {
  const values = Array.isArray(input.header) ? input.header : [input.header]
  const present = values.filter((v): v is string => typeof v === 'string')
  if (present.length === 0 || present[0]!.trim() === '')
    return { facts: {}, failure: 'proof_missing' }
  // Node joins repeated unknown headers with ", ", and a compact JWS never holds a comma.
  if (present.length > 1 || present[0]!.includes(','))
    return { facts: {}, failure: 'proof_multiple' }
  const proof = present[0]!.trim()
  if (proof.length > MAX_PROOF_LENGTH) return { facts: {}, failure: 'proof_too_large' }
  if (!JWS_COMPACT.test(proof)) return { facts: {}, failure: 'proof_syntax' }

  let header: ReturnType<typeof decodeProtectedHeader>
  let claims: ReturnType<typeof decodeJwt>
  try {
    header = decodeProtectedHeader(proof)
    claims = decodeJwt(proof)
  } catch {
    return { facts: {}, failure: 'proof_syntax' }
  }
  const facts: ProofCheck['facts'] = {}
  if (typeof claims.jti === 'string' && claims.jti !== '')
    facts.jti_fingerprint = input.fingerprint(claims.jti)
  if (typeof claims.iat === 'number' && Number.isInteger(claims.iat) && claims.iat >= 0)
    facts.iat = Math.min(claims.iat, 253_402_300_799)
  const htm = (claims as { htm?: unknown }).htm
  if (typeof htm === 'string' && METHOD.test(htm)) facts.htm = htm
  const rawHtu = (claims as { htu?: unknown }).htu
  const htu = clip(rawHtu, LIMITS.uri)
  if (htu !== undefined && htu !== '') facts.htu = htu
  if (typeof header.alg === 'string') facts.alg = clip(header.alg, 32)
  const jwk = header.jwk
  if (jwk !== undefined && typeof jwk === 'object') {
    try {
      facts.jkt = await calculateJwkThumbprint(jwk as JWK, 'sha256')
    } catch {
      // an unusable key: the signature check below names it
    }
  }
  const ath = (claims as { ath?: unknown }).ath
  const expectedAth = accessTokenHash(input.token)
  facts.ath = ath === undefined ? 'missing' : ath === expectedAth ? 'match' : 'mismatch'

  const fail = (failure: string): ProofCheck => ({ facts, failure })
  // 4: typ; 5: an asymmetric algorithm of the allowed list; 3: the header members and claims.
  if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'dpop+jwt')
    return fail('proof_typ')
  if (typeof header.alg !== 'string' || !s.algorithms.includes(header.alg)) return fail('proof_alg')
  if (jwk === undefined || typeof jwk !== 'object') return fail('proof_jwk')
  // 7: the embedded key is public (a private member means the client leaked its key).
  if (['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((m) => m in (jwk as object)))
    return fail('proof_private_key')
  // 6: the signature, with the embedded key.
  try {
    await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: [...s.algorithms] })
  } catch {
    return fail('proof_signature')
  }
  if (facts.jti_fingerprint === undefined) return fail('proof_claims')
  if (typeof claims.iat !== 'number' || facts.htm === undefined || facts.htu === undefined)
    return fail('proof_claims')
  // 8: htm; 9: htu, both normalized, without query and fragment.
  if (facts.htm !== input.method) return fail('htm_mismatch')
  const expected = requestUri(input, s.origin)
  const named = typeof rawHtu === 'string' ? normalizeHtu(rawHtu) : undefined
  if (expected === undefined || named !== expected) return fail('htu_mismatch')
  // 11: iat within the window.
  const nowSec = Math.floor(input.now / 1000)
  if (claims.iat > nowSec + s.iatSkewSec) return fail('iat_future')
  if (claims.iat < nowSec - s.iatWindowSec) return fail('iat_stale')
  // 12: ath.
  if (facts.ath === 'missing') return fail('ath_missing')
  if (facts.ath === 'mismatch') return fail('ath_mismatch')
  return { facts }
}

/** base64url(SHA-256(ASCII(access token))): the `ath` claim (RFC 9449 4.2). */
export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token, 'ascii').digest('base64url')
}

const UNRESERVED = /[A-Za-z0-9\-._~]/

/**
 * An http(s) URI without query and fragment, normalized as RFC 9449 4.3 asks (RFC 3986 6.2.2
 * syntax-based and 6.2.3 scheme-based): lower-case scheme and host, default port dropped, dot
 * segments removed, percent-escapes of unreserved characters decoded and the others upper-cased,
 * an empty path as `/`. Undefined when it is not an absolute http(s) URI.
 */
export function normalizeHtu(value: string): string | undefined {
  let u: URL
  try {
    u = new URL(value)
  } catch {
    return undefined
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return undefined
  if (u.username !== '' || u.password !== '') return undefined
  const path = u.pathname.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16))
    return UNRESERVED.test(c) ? c : `%${hex.toUpperCase()}`
  })
  return `${u.protocol}//${u.host}${path === '' ? '/' : path}`
}

/** The URI the proof must name: the configured public origin (or Host) and the target's path. */
function requestUri(input: ProofInput, origin: string | undefined): string | undefined {
  const target = input.url ?? '/'
  if (/^https?:\/\//i.test(target)) return normalizeHtu(target)
  if (!target.startsWith('/')) return undefined
  const base =
    origin ??
    (input.host === undefined ? undefined : `${input.encrypted ? 'https' : 'http'}://${input.host}`)
  if (base === undefined) return undefined
  const path = target.split(/[?#]/, 1)[0]!
  return normalizeHtu(`${base}${path}`)
}

/** `x5t#S256` of the TLS client certificate of the request, when the host terminates TLS. */
export function clientCertThumbprint(socket: unknown): string | undefined {
  const tls = socket as Partial<TLSSocket> | undefined
  if (tls?.encrypted !== true || typeof tls.getPeerCertificate !== 'function') return undefined
  try {
    const cert = tls.getPeerCertificate(false)
    const raw = (cert as { raw?: Buffer } | undefined)?.raw
    if (!Buffer.isBuffer(raw) || raw.length === 0) return undefined
    return createHash('sha256').update(raw).digest('base64url')
  } catch {
    return undefined
  }
}

/** The token's `cnf` from its claims, kept only when its members are SHA-256 thumbprints. */
export function confirmationOf(claims: Record<string, unknown>): TokenInfo['cnf'] {
  const cnf = claims.cnf
  if (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf)) return undefined
  const { jkt, 'x5t#S256': x5t } = cnf as Record<string, unknown>
  const out: NonNullable<TokenInfo['cnf']> = {}
  if (typeof jkt === 'string' && THUMBPRINT.test(jkt)) out.jkt = jkt
  if (typeof x5t === 'string' && THUMBPRINT.test(x5t)) out['x5t#S256'] = x5t
  return out.jkt === undefined && out['x5t#S256'] === undefined ? undefined : out
}

export type Scheme = 'Bearer' | 'DPoP'

/** The verdict of one presentation: the proof facts for the event and, if it fails, why. */
export interface Binding {
  proof: ProofInfo
  /** enforce mode refuses the request when set */
  failure?: string
  /** the failure is the proof's (`invalid_dpop_proof`) rather than the token's (`invalid_token`) */
  proofError: boolean
}

/**
 * RFC 9449 4.3 check 12 (`jkt` against `cnf.jkt`) and 7.2 (a DPoP-bound token presented as a
 * bearer token is refused: the downgrade), RFC 8705 3 (`x5t#S256` against the client
 * certificate). `check` is the DPoP proof's (DPoP scheme only); `cert` the client certificate's
 * thumbprint when the request came with one.
 */
export function judgeBinding(
  scheme: Scheme,
  cnf: TokenInfo['cnf'],
  check: ProofCheck | undefined,
  cert: string | undefined,
): Binding {
  const proof: ProofInfo = { scheme, verdict: 'absent', ...(check?.facts ?? {}) }
  if (cert !== undefined) proof.cert_thumbprint = cert
  const invalid = (failure: string, proofError: boolean): Binding => {
    proof.verdict = 'invalid'
    proof.failure = failure
    return { proof, failure, proofError }
  }
  if (scheme === 'DPoP') {
    if (check?.failure !== undefined) return invalid(check.failure, true)
    // RFC 9449 7.1: a DPoP-scheme token must be DPoP-bound, and to the proof's key.
    if (cnf?.jkt === undefined) return invalid('token_not_bound', false)
    if (check?.facts.jkt !== cnf.jkt) return invalid('jkt_mismatch', false)
  } else if (cnf?.jkt !== undefined) {
    return invalid('bound_token_as_bearer', false)
  }
  const x5t = cnf?.['x5t#S256']
  if (x5t !== undefined) {
    if (cert === undefined) return invalid('cert_missing', false)
    if (cert !== x5t) return invalid('cert_mismatch', false)
  }
  if (scheme === 'DPoP' || x5t !== undefined) proof.verdict = 'valid'
  return { proof, proofError: false }
}
