/** A signing key and JWT minting for API tests (tokens are generated at run time, never stored). */
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose'

export const API_ISSUER = 'https://idp.example.com'
export const API_AUDIENCE = 'https://audtrail.example.com/api'

export async function apiKeys() {
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }
  const keys = createLocalJWKSet({ keys: [jwk] })
  async function token(
    claims: { roles?: string[]; tenant?: string; sub?: string } = {},
    options: { issuer?: string; audience?: string; expiresIn?: string; kid?: string } = {},
  ): Promise<string> {
    return new SignJWT({
      audtrail_roles: claims.roles ?? [],
      audtrail_tenant: claims.tenant ?? 'acme',
    })
      .setProtectedHeader({ alg: 'ES256', kid: options.kid ?? 'k1' })
      .setSubject(claims.sub ?? 'svc-1')
      .setIssuer(options.issuer ?? API_ISSUER)
      .setAudience(options.audience ?? API_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? '5m')
      .sign(privateKey)
  }
  return { keys, token, jwk }
}
