/**
 * The JSON report's integrity (docs/reports.md, "Integrity"):
 *
 * - `integrity.digest`: SHA-256 (lowercase hex) of the report's canonical form, RFC 8785 (JCS,
 *   canonical.ts), taken over the whole report without its `integrity` member. Re-indenting or
 *   reordering keys keeps it; changing any value, adding or removing a member breaks it.
 * - `integrity.signature` (with a signing key): a JWS (RFC 7515, compact serialisation) signed
 *   with Ed25519 (`alg: EdDSA`, RFC 8037) whose payload is the canonical JSON of
 *   `{ kind, digest_algorithm, digest, tenant, generated_at }`; `kid` is the RFC 7638 thumbprint
 *   of the public key. The signature covers the digest, the digest covers the report.
 *
 * Keys (AUDTRAIL_REPORT_SIGNING_KEY): an Ed25519 private key as PKCS#8 PEM
 * (`-----BEGIN PRIVATE KEY-----`, what `openssl genpkey -algorithm ed25519` writes) or as a JWK
 * (`{"kty":"OKP","crv":"Ed25519","d":...,"x":...}`). Verifying keys: the SPKI PEM
 * (`openssl pkey -pubout`) or the public JWK; a private key is accepted too (its public half is
 * used). A PEM given in one line with literal `\n` sequences (env files) is accepted.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { calculateJwkThumbprint, CompactSign, compactVerify, type JWK } from 'jose'
import { canonicalJson } from '../events/canonical.js'

export const DIGEST_ALGORITHM = 'SHA-256'
export const CANONICALIZATION = 'RFC 8785 (JCS)'
export const SIGNATURE_FORMAT = 'JWS compact (RFC 7515), EdDSA with Ed25519 (RFC 8037)'
const JWS_TYPE = 'audtrail-report-digest+jws'

export interface ReportSignature {
  format: string
  alg: 'EdDSA'
  /** RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key. */
  key_id: string
  jws: string
}

export interface ReportIntegrity {
  canonicalization: string
  digest_algorithm: string
  /** What the digest covers, in words. */
  covers: string
  digest: string
  signature?: ReportSignature
}

const COVERS = 'the report without its integrity member, in its RFC 8785 canonical form'

interface Sealable {
  kind: string
  tenant: string
  generated_at: string
  integrity?: unknown
}

/** SHA-256 (hex) of the canonical form of `report` without its `integrity` member. */
export function reportDigest(report: object): string {
  const rest: Record<string, unknown> = { ...(report as Record<string, unknown>) }
  delete rest.integrity
  return createHash('sha256').update(canonicalJson(rest), 'utf8').digest('hex')
}

/** A key problem: the variable or file names the key, never its content. */
export class ReportKeyError extends Error {}

function ed25519(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519')
    throw new ReportKeyError(
      `${what} is a ${key.asymmetricKeyType ?? 'symmetric'} key, not Ed25519`,
    )
  return key
}

function parseKeyText(text: string, what: string): { key: KeyObject; private: boolean } {
  // A PEM in one line of an env file carries its line breaks as `\n`.
  const trimmed = (text.trim().startsWith('-----') ? text.replace(/\\n/g, '\n') : text).trim()
  try {
    if (trimmed.startsWith('{')) {
      const jwk = JSON.parse(trimmed) as JWK
      if (typeof jwk.d === 'string')
        return { key: createPrivateKey({ key: jwk as never, format: 'jwk' }), private: true }
      return { key: createPublicKey({ key: jwk as never, format: 'jwk' }), private: false }
    }
    if (/-----BEGIN (ENCRYPTED )?PRIVATE KEY-----/.test(trimmed))
      return { key: createPrivateKey(trimmed), private: true }
    if (trimmed.includes('-----BEGIN PUBLIC KEY-----'))
      return { key: createPublicKey(trimmed), private: false }
  } catch (err) {
    throw new ReportKeyError(
      `${what} cannot be read (${err instanceof Error ? err.message.split('\n')[0] : 'invalid'})`,
    )
  }
  throw new ReportKeyError(`${what} is neither a PEM key nor a JWK`)
}

/** The signing key of AUDTRAIL_REPORT_SIGNING_KEY (PKCS#8 PEM or private JWK, Ed25519). */
export function loadSigningKey(text: string, what = 'AUDTRAIL_REPORT_SIGNING_KEY'): KeyObject {
  const parsed = parseKeyText(text, what)
  if (!parsed.private)
    throw new ReportKeyError(`${what} is a public key; signing needs the private key`)
  return ed25519(parsed.key, what)
}

/** A verifying key: SPKI PEM or public JWK (a private key gives its public half). */
export function loadVerifyingKey(text: string, what = 'the key'): KeyObject {
  const parsed = parseKeyText(text, what)
  return ed25519(parsed.private ? createPublicKey(parsed.key) : parsed.key, what)
}

async function keyId(key: KeyObject): Promise<string> {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key
  return calculateJwkThumbprint(publicKey.export({ format: 'jwk' }) as JWK, 'sha256')
}

function signedPayload(report: Sealable, digest: string): string {
  return canonicalJson({
    kind: report.kind,
    digest_algorithm: DIGEST_ALGORITHM,
    digest,
    tenant: report.tenant,
    generated_at: report.generated_at,
  })
}

/** The report with its `integrity` member: the digest and, with a key, the signature. */
export async function sealReport<T extends Sealable>(
  report: T,
  signingKey?: KeyObject,
): Promise<T & { integrity: ReportIntegrity }> {
  const unsealed = { ...report }
  delete unsealed.integrity
  const digest = reportDigest(unsealed)
  const integrity: ReportIntegrity = {
    canonicalization: CANONICALIZATION,
    digest_algorithm: DIGEST_ALGORITHM,
    covers: COVERS,
    digest,
  }
  if (signingKey) {
    const kid = await keyId(signingKey)
    const jws = await new CompactSign(new TextEncoder().encode(signedPayload(report, digest)))
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: JWS_TYPE })
      .sign(signingKey)
    integrity.signature = { format: SIGNATURE_FORMAT, alg: 'EdDSA', key_id: kid, jws }
  }
  return { ...unsealed, integrity }
}

export interface Verification {
  /** Digest matches and, when a key was given, the signature is valid. */
  ok: boolean
  digest: { expected?: string; actual?: string; ok: boolean }
  /** absent: not signed; unchecked: signed, no key given; valid / invalid: checked. */
  signature: 'absent' | 'unchecked' | 'valid' | 'invalid'
  problems: string[]
}

/** Checks a JSON report's digest and, with `key`, its signature (see the module comment). */
export async function verifyReport(text: string, key?: KeyObject): Promise<Verification> {
  const problems: string[] = []
  let report: Record<string, unknown>
  try {
    report = JSON.parse(text) as Record<string, unknown>
  } catch {
    return { ok: false, digest: { ok: false }, signature: 'absent', problems: ['not JSON'] }
  }
  if (typeof report !== 'object' || report === null || Array.isArray(report))
    return { ok: false, digest: { ok: false }, signature: 'absent', problems: ['not a report'] }
  const integrity = report.integrity as Partial<ReportIntegrity> | undefined
  if (typeof integrity?.digest !== 'string')
    return {
      ok: false,
      digest: { ok: false },
      signature: 'absent',
      problems: ['the report carries no integrity.digest'],
    }
  if (integrity.digest_algorithm !== DIGEST_ALGORITHM)
    problems.push(`unknown digest algorithm ${JSON.stringify(integrity.digest_algorithm)}`)
  let actual: string | undefined
  try {
    actual = reportDigest(report)
  } catch (err) {
    problems.push(`cannot canonicalise the report: ${(err as Error).message}`)
  }
  const digestOk = actual !== undefined && actual === integrity.digest && problems.length === 0
  if (actual !== undefined && actual !== integrity.digest)
    problems.push('digest mismatch: the report was changed after it was generated')

  let signature: Verification['signature'] = 'absent'
  const jws = integrity.signature?.jws
  if (typeof jws === 'string') {
    if (!key) signature = 'unchecked'
    else {
      try {
        const { payload, protectedHeader } = await compactVerify(jws, key, {
          algorithms: ['EdDSA'],
        })
        const signed = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>
        const expected = signedPayload(report as unknown as Sealable, String(integrity.digest))
        if (protectedHeader.kid !== (await keyId(key))) throw new Error('signed with another key')
        if (canonicalJson(signed) !== expected || signed.digest !== actual)
          throw new Error('the signed digest is not the digest of this report')
        signature = 'valid'
      } catch (err) {
        signature = 'invalid'
        problems.push(`signature invalid: ${err instanceof Error ? err.message : String(err)}`)
      }
    }
  } else if (key) problems.push('a key was given but the report is not signed')

  return {
    ok: digestOk && problems.length === 0 && signature !== 'invalid',
    digest: { expected: integrity.digest, ...(actual ? { actual } : {}), ok: digestOk },
    signature,
    problems,
  }
}
