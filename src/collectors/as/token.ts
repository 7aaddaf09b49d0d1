/** Token facts of AS events: the issued token, and references to subject and actor tokens. */
import { decodeJwt } from 'jose'
import { fingerprintToken } from '../../events/fingerprint.js'
import { LIMITS, type TokenRefInfo } from '../../events/schema.js'
import { dropUndefined, strict, type Input } from './input.js'
import type { Sanitizer } from './sanitizer.js'
import { confirmationOf } from '../rs/dpop.js'

export interface BuiltToken {
  info: Input
  /** the audience and scopes as given or decoded, before cleaning (for comparisons) */
  rawAud?: string[]
  rawScopes?: unknown
}

/** The `token` object: explicit fields over what the JWT says, plus the fingerprint. */
export function issuedToken(
  i: Input,
  raw: string | undefined,
  s: Sanitizer,
  fn: string,
): BuiltToken {
  const claims = raw === undefined ? {} : decodeClaims(raw)
  const given = s.read(i, 'token')
  const pick = (k: string) => {
    const v = s.read(given, k, `token.${k}`)
    return v === undefined ? claims[k] : v
  }
  const jti = pick('jti')
  if (raw !== undefined && jti === raw)
    throw new TypeError(`${fn}: token.jti must not be the token itself (opaque tokens: omit jti)`)
  const format = pick('format') ?? (raw === undefined ? undefined : 'opaque')
  const aud = pick('aud')
  const rawAud = aud === undefined ? undefined : s.listOf('token.aud', aud)
  const scopes = pick('scopes')
  const fingerprint = s.read(given, 'fingerprint', 'token.fingerprint')
  // RFC 7800 `cnf` of a sender-constrained token: kept when its members are SHA-256 thumbprints.
  const cnfGiven = pick('cnf')
  const cnf = cnfGiven === undefined ? undefined : confirmationOf({ cnf: cnfGiven })
  if (cnfGiven !== undefined && cnf === undefined) s.drop('token.cnf', cnfGiven)
  return {
    info: {
      fingerprint:
        fingerprint ??
        (raw === undefined
          ? undefined
          : fingerprintToken(raw, strict(i, 'fingerprintKey', fn) as string | undefined)),
      format: format === 'jwt' || format === 'opaque' ? format : s.drop('token.format', format),
      jti: s.ident('token.jti', jti),
      iat: s.date('token.iat', pick('iat')),
      exp: s.date('token.exp', pick('exp')),
      aud: rawAud === undefined ? undefined : s.list('token.aud', rawAud, { max: LIMITS.uri }),
      scopes: scopes === undefined ? undefined : s.scopes('token.scopes', scopes),
      cnf,
    },
    rawAud,
    rawScopes: scopes,
  }
}

/** JWT claims as token fields; a JWE is a `jwt` whose claims cannot be read here. */
function decodeClaims(raw: string): Input {
  const parts = raw.split('.').length
  if (parts === 5) return { format: 'jwt' }
  if (parts !== 3) return {}
  let claims: Input
  try {
    claims = decodeJwt(raw)
  } catch {
    return {}
  }
  return {
    format: 'jwt',
    jti: claims.jti,
    iat: claims.iat,
    exp: claims.exp,
    aud: claims.aud,
    scopes: claims.scope ?? claims.scp,
    cnf: claims.cnf,
  }
}

export function tokenRef(
  raw: string,
  key: string | Uint8Array | undefined,
  s: Sanitizer,
  field: string,
): TokenRefInfo {
  const jti = s.ident(`${field}.jti`, decodeClaims(raw).jti)
  return { fingerprint: fingerprintToken(raw, key), ...(jti !== undefined && { jti }) }
}

export function refInput(ref: unknown, s: Sanitizer, field: string): TokenRefInfo | undefined {
  if (ref === undefined || ref === null) return undefined
  const fingerprint = s.read(ref, 'fingerprint', `${field}.fingerprint`)
  const jti = s.ident(`${field}.jti`, s.read(ref, 'jti', `${field}.jti`))
  return dropUndefined({ fingerprint, jti }) as TokenRefInfo
}
