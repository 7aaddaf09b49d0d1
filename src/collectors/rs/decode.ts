/** Observe mode and rejected tokens: read the claims without verifying them (jose `decodeJwt`). */
import { decodeJwt, type JWTPayload } from 'jose'
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
