/** Observe mode and rejected tokens: read the claims without verifying them (jose `decodeJwt`). */
import { decodeJwt, type JWTPayload } from 'jose'
import { LIMITS } from '../../events/schema.js'
import { factsFromClaims, opaqueFacts, type TokenFacts } from './claims.js'

export interface Decoded {
  facts: TokenFacts
  /** unverified claims; undefined when the token is not a decodable JWT */
  claims?: JWTPayload
}

/** Never throws: a token that is not a JWS compact JWT is recorded as `opaque`. */
export function decodeToken(token: string, fingerprint: string): Decoded {
  let claims: JWTPayload
  try {
    claims = decodeJwt(token)
  } catch {
    return { facts: opaqueFacts(fingerprint, true) }
  }
  return { facts: factsFromClaims(claims, fingerprint), claims }
}

/**
 * What a cache keeps of a token's claims: the two a decision reads (`exp`, `iss`). The rest is
 * read again from the token when a host asks for it (`lazyClaims`), so a cached entry never holds
 * a payload whose size the token's sender chose.
 */
export function essentialClaims(claims: JWTPayload | undefined): JWTPayload | undefined {
  if (claims === undefined) return undefined
  const out: JWTPayload = {}
  if (typeof claims.exp === 'number') out.exp = claims.exp
  if (typeof claims.iss === 'string' && claims.iss.length <= 4 * LIMITS.uri) out.iss = claims.iss
  return out
}

/** The token's claims, decoded (unverified) the first time they are read; undefined if not a JWT. */
export function lazyClaims(token: string): () => JWTPayload | undefined {
  let claims: JWTPayload | undefined
  let read = false
  return () => {
    if (!read) {
      read = true
      try {
        claims = decodeJwt(token)
      } catch {
        claims = undefined
      }
    }
    return claims
  }
}
