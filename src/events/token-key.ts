/** The token key that joins events of one token: `jti` when present, else the fingerprint. */
import type { TokenRefInfo } from './schema.js'

export type TokenKeyKind = 'jti' | 'fingerprint'

export function tokenKey(
  token: TokenRefInfo | undefined,
): { key: string; kind: TokenKeyKind } | undefined {
  if (token?.jti !== undefined) return { key: token.jti, kind: 'jti' }
  if (token?.fingerprint !== undefined) return { key: token.fingerprint, kind: 'fingerprint' }
  return undefined
}
