/** Token fingerprints: base64url(SHA-256(token)), or HMAC-SHA-256 when a key is shared by AS and RS. */
import { createHash, createHmac } from 'node:crypto'

/**
 * The fingerprint is the only form in which a token leaves the process that saw it. With a key,
 * a leaked audit log cannot be used to confirm a guessed token offline.
 */
export function fingerprintToken(token: string, key?: string | Uint8Array): string {
  if (typeof token !== 'string' || token.length === 0)
    throw new TypeError('fingerprintToken: token must be a non-empty string')
  if (
    key !== undefined &&
    (key.length === 0 || (typeof key !== 'string' && !(key instanceof Uint8Array)))
  )
    throw new TypeError('fingerprintToken: key must be a non-empty string or Uint8Array')
  const digest = key === undefined ? createHash('sha256') : createHmac('sha256', key)
  return digest.update(token, 'utf8').digest('base64url')
}
