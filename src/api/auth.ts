/**
 * Authentication of API callers: `Authorization: Bearer <JWT>` verified with jose; `iss` exact,
 * `aud` must contain the configured audience (audtrail enforces audiences on itself), roles from
 * `audtrail_roles`, tenant from `audtrail_tenant`. Without a configured key set the API is open,
 * which the CLI allows only on a loopback address.
 */
import { errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose'
import { ASYMMETRIC_ALGORITHMS } from '../jwt-algorithms.js'
import { ApiError } from './errors.js'

export const ROLES = ['viewer', 'analyst', 'admin', 'ingest'] as const
export type Role = (typeof ROLES)[number]

export interface Caller {
  subject: string
  roles: readonly Role[]
  /** undefined only in open mode: the caller may act for any tenant. */
  tenant?: string
}

export interface AuthOptions {
  /** undefined: open mode (no authentication). */
  keys?: JWTVerifyGetKey
  issuer?: string
  audience?: string
}

export type Authenticate = (authorization: string | undefined) => Promise<Caller>

const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const OPEN_CALLER: Caller = { subject: 'local', roles: ROLES }

function unauthorized(error: string | undefined, message: string): ApiError {
  const challenge = error
    ? `Bearer realm="audtrail", error="${error}", error_description="${message}"`
    : 'Bearer realm="audtrail"'
  return new ApiError(401, error ? 'ERR_AUTH_INVALID' : 'ERR_AUTH_MISSING', message, {
    'www-authenticate': challenge,
  })
}

export function createAuthenticator(options: AuthOptions): Authenticate {
  const { keys } = options
  if (!keys) return async () => OPEN_CALLER
  if (!options.issuer || !options.audience)
    throw new TypeError('createAuthenticator: issuer and audience are required with a key set')
  return async (authorization) => {
    // Stryker disable next-line StringLiteral: equivalent, without a header the next line throws before `match` is read
    const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(authorization ?? '')
    if (!authorization) throw unauthorized(undefined, 'a bearer token is required')
    if (!match || match[1]!.length > 16_384)
      throw unauthorized('invalid_request', 'malformed Authorization header')
    let payload
    try {
      ;({ payload } = await jwtVerify(match[1]!, keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: [...ASYMMETRIC_ALGORITHMS],
        requiredClaims: ['exp', 'sub'],
        clockTolerance: 30,
      }))
    } catch (err) {
      throw unauthorized('invalid_token', describeJoseError(err))
    }
    const roles = Array.isArray(payload.audtrail_roles)
      ? (payload.audtrail_roles.filter((r) => (ROLES as readonly unknown[]).includes(r)) as Role[])
      : []
    const tenant = payload.audtrail_tenant
    if (typeof tenant !== 'string' || !TENANT.test(tenant))
      throw unauthorized('invalid_token', 'the token has no valid audtrail_tenant claim')
    return { subject: payload.sub!, roles, tenant }
  }
}

/** A fixed, short description per failure: jose's own messages are not passed through. */
function describeJoseError(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'the token has expired'
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'the token is not meant for this API (aud)'
    if (err.claim === 'iss') return 'the token has the wrong issuer'
    return `the token's ${err.claim} claim is not acceptable`
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed)
    return 'the token signing algorithm is not allowed'
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'no key matches the token'
  if (err instanceof joseErrors.JWSSignatureVerificationFailed)
    return 'the token signature is invalid'
  return 'the token is invalid'
}

/** viewer < analyst < admin: each includes the ones before; ingest stands apart (machines only). */
const IMPLIED_BY: Record<Role, readonly Role[]> = {
  viewer: ['viewer', 'analyst', 'admin'],
  analyst: ['analyst', 'admin'],
  admin: ['admin'],
  ingest: ['ingest'],
}

export function requireRole(caller: Caller, role: Role): void {
  if (!IMPLIED_BY[role].some((r) => caller.roles.includes(r)))
    throw new ApiError(403, 'ERR_FORBIDDEN', `this operation needs the ${role} role`)
}
