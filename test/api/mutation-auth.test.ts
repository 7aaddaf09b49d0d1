/**
 * createAuthenticator and requireRole called directly (issue 31, the survivors of a StrykerJS run
 * on src/api/auth.ts): each answer's code, challenge and message, the Authorization header's
 * shape and size limit, the tenant claim's shape, jose's failures mapped to fixed descriptions,
 * and the role hierarchy.
 */
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  createAuthenticator,
  requireRole,
  ROLES,
  type Caller,
  type Role,
} from '../../src/api/auth.js'
import { ApiError } from '../../src/api/errors.js'

const ISSUER = 'https://issuer.test'
const AUDIENCE = 'https://audtrail.test/api'

let keys: JWTVerifyGetKey
let privateKey: CryptoKey
let otherKey: CryptoKey

beforeAll(async () => {
  const pair = await generateKeyPair('ES256')
  privateKey = pair.privateKey
  otherKey = (await generateKeyPair('ES256')).privateKey
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }
  keys = createLocalJWKSet({ keys: [jwk] })
})

interface Mint {
  claims?: Record<string, unknown>
  sub?: string | null
  iss?: string
  aud?: string
  exp?: number | string
  kid?: string
  key?: CryptoKey
}

function mint(options: Mint = {}): Promise<string> {
  const jwt = new SignJWT({
    audtrail_roles: ['viewer'],
    audtrail_tenant: 'acme',
    ...options.claims,
  })
    .setProtectedHeader({ alg: 'ES256', kid: options.kid ?? 'k1' })
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.exp ?? '5m')
  if (options.sub !== null) jwt.setSubject(options.sub ?? 'svc-1')
  return jwt.sign(options.key ?? privateKey)
}

const authenticate = () => createAuthenticator({ keys, issuer: ISSUER, audience: AUDIENCE })

/** The ApiError an Authorization header gets (fails the test when it is accepted). */
async function refusal(authorization: string | undefined): Promise<ApiError> {
  try {
    const caller = await authenticate()(authorization)
    throw new Error(`accepted: ${JSON.stringify(caller)}`)
  } catch (err) {
    if (!(err instanceof ApiError)) throw err
    return err
  }
}

const invalid = (error: string, message: string) => ({
  statusCode: 401,
  code: 'ERR_AUTH_INVALID',
  message,
  headers: {
    'www-authenticate': `Bearer realm="audtrail", error="${error}", error_description="${message}"`,
  },
})

describe('createAuthenticator', () => {
  it('without a key set is open: every caller is the local one with every role and no tenant', async () => {
    const caller = await createAuthenticator({})(undefined)
    expect(caller).toEqual({ subject: 'local', roles: [...ROLES] })
    expect(ROLES).toEqual(['viewer', 'analyst', 'admin', 'ingest'])
  })

  it('with a key set requires both the issuer and the audience', () => {
    const message = 'createAuthenticator: issuer and audience are required with a key set'
    expect(() => createAuthenticator({ keys, audience: AUDIENCE })).toThrow(new TypeError(message))
    expect(() => createAuthenticator({ keys, issuer: ISSUER })).toThrow(new TypeError(message))
    expect(() => createAuthenticator({ keys, issuer: ISSUER, audience: AUDIENCE })).not.toThrow()
  })

  it('accepts a valid token: its subject, its known roles and its tenant', async () => {
    const token = await mint({ claims: { audtrail_roles: ['analyst', 'root', 7, 'ingest'] } })
    await expect(authenticate()(`Bearer ${token}`)).resolves.toEqual({
      subject: 'svc-1',
      roles: ['analyst', 'ingest'],
      tenant: 'acme',
    })
    const noRoles = await mint({ claims: { audtrail_roles: 'admin' } })
    await expect(authenticate()(`Bearer ${noRoles}`)).resolves.toMatchObject({ roles: [] })
  })

  it('answers a missing header with ERR_AUTH_MISSING and a bare challenge', async () => {
    for (const header of [undefined, '']) {
      expect({ ...(await refusal(header)) }).toEqual({
        statusCode: 401,
        code: 'ERR_AUTH_MISSING',
        headers: { 'www-authenticate': 'Bearer realm="audtrail"' },
      })
      expect((await refusal(header)).message).toBe('a bearer token is required')
    }
  })

  it('refuses a header not exactly `Bearer <token>` as a malformed request', async () => {
    const token = await mint()
    for (const header of [
      `xBearer ${token}`,
      `Bearer ${token} x`,
      `Basic ${token}`,
      `Bearer  ${token}`,
      'Bearer',
    ]) {
      const err = await refusal(header)
      expect({ ...err, message: err.message }).toEqual(
        invalid('invalid_request', 'malformed Authorization header'),
      )
    }
  })

  it('reads a token of at most 16 384 characters and refuses a longer one unread', async () => {
    const atLimit = await refusal(`Bearer ${'a'.repeat(16_384)}`)
    expect(atLimit.message).toBe('the token is invalid')
    const over = await refusal(`Bearer ${'a'.repeat(16_385)}`)
    expect(over.message).toBe('malformed Authorization header')
  })

  it('describes each verification failure with its fixed message', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600
    const cases: [Promise<string>, string][] = [
      [mint({ exp: past }), 'the token has expired'],
      [mint({ aud: 'https://other.test' }), 'the token is not meant for this API (aud)'],
      [mint({ iss: 'https://other-issuer.test' }), 'the token has the wrong issuer'],
      [mint({ sub: null }), "the token's sub claim is not acceptable"],
      [mint({ kid: 'k2' }), 'no key matches the token'],
      [mint({ key: otherKey }), 'the token signature is invalid'],
      [
        new SignJWT({ sub: 'x' })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setExpirationTime('5m')
          .sign(new Uint8Array(32).fill(7)),
        'the token signing algorithm is not allowed',
      ],
      [Promise.resolve('not.a.jwt'), 'the token is invalid'],
    ]
    for (const [token, message] of cases) {
      const err = await refusal(`Bearer ${await token}`)
      expect({ ...err, message: err.message }).toEqual(invalid('invalid_token', message))
    }
  })

  it('takes the tenant only in its documented shape', async () => {
    const ok = ['a', 'A0', 'acme.eu_1-x', `a${'b'.repeat(63)}`]
    for (const tenant of ok) {
      const token = await mint({ claims: { audtrail_tenant: tenant } })
      await expect(authenticate()(`Bearer ${token}`)).resolves.toMatchObject({ tenant })
    }
    const bad = ['', '-acme', '.acme', 'acme!', 'ac me', `a${'b'.repeat(64)}`, 42]
    for (const tenant of bad) {
      const err = await refusal(`Bearer ${await mint({ claims: { audtrail_tenant: tenant } })}`)
      expect({ ...err, message: err.message }).toEqual(
        invalid('invalid_token', 'the token has no valid audtrail_tenant claim'),
      )
    }
  })
})

describe('requireRole', () => {
  const caller = (...roles: Role[]): Caller => ({ subject: 's', roles, tenant: 't' })
  const allowed = (roles: Role[], role: Role) => {
    try {
      requireRole(caller(...roles), role)
      return true
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError)
      expect({ ...(err as ApiError), message: (err as ApiError).message }).toEqual({
        statusCode: 403,
        code: 'ERR_FORBIDDEN',
        headers: {},
        message: `this operation needs the ${role} role`,
      })
      return false
    }
  }

  it('lets each role do what it and the roles above it may, and nothing else', () => {
    const table: Record<Role, Record<Role, boolean>> = {
      viewer: { viewer: true, analyst: false, admin: false, ingest: false },
      analyst: { viewer: true, analyst: true, admin: false, ingest: false },
      admin: { viewer: true, analyst: true, admin: true, ingest: false },
      ingest: { viewer: false, analyst: false, admin: false, ingest: true },
    }
    for (const held of ROLES)
      for (const needed of ROLES)
        expect([held, needed, allowed([held], needed)]).toEqual([held, needed, table[held][needed]])
    expect(allowed([], 'viewer')).toBe(false)
    expect(allowed(['ingest', 'viewer'], 'viewer')).toBe(true)
  })
})
