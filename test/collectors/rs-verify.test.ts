import { describe, expect, it } from 'vitest'
import { presentedToken } from '../../src/collectors/rs/bearer.js'
import { ExpiringLru, MAX_ENTRY_AGE_MS } from '../../src/collectors/rs/cache.js'
import { failureFromJose, KeySetUnavailable } from '../../src/collectors/rs/jose-errors.js'
import { metadataPathsFor, metadataUrlFor } from '../../src/collectors/rs/metadata.js'
import { bearerChallenge, challengeError } from '../../src/collectors/rs/www-authenticate.js'
import { errors } from 'jose'

describe('the bearer token of a request', () => {
  it('comes only from an Authorization header with the Bearer scheme, case-insensitively', () => {
    expect(presentedToken('Bearer abc.def.ghi', 100)).toEqual({
      kind: 'bearer',
      scheme: 'Bearer',
      token: 'abc.def.ghi',
      malformed: false,
      oversized: false,
    })
    expect(presentedToken('bearer   tok=  ', 100)).toMatchObject({
      token: 'tok=',
      malformed: false,
    })
    for (const none of [
      undefined,
      '',
      'Basic YTpi',
      'Bearer',
      'Bearer   ',
      'Bearerabc',
      'DPoPabc',
      'DPoP   ',
    ])
      expect(presentedToken(none, 100)).toEqual({ kind: 'none' })
  })

  it('comes with the DPoP scheme too (RFC 9449 7.1), unless DPoP is turned off', () => {
    expect(presentedToken('dpop  abc.def.ghi ', 100)).toEqual({
      kind: 'bearer',
      scheme: 'DPoP',
      token: 'abc.def.ghi',
      malformed: false,
      oversized: false,
    })
    expect(presentedToken('DPoP abc', 100, false)).toEqual({ kind: 'none' })
  })

  it('is malformed when it is not b64token syntax or longer than the limit', () => {
    expect(presentedToken('Bearer a b', 100)).toMatchObject({ token: 'a b', malformed: true })
    expect(presentedToken('Bearer a"b', 100)).toMatchObject({ malformed: true, oversized: false })
    expect(presentedToken(`Bearer ${'x'.repeat(101)}`, 100)).toMatchObject({
      malformed: true,
      oversized: true,
    })
  })
})

describe('Bearer challenges', () => {
  it('follow RFC 6750 and RFC 9728 parameter syntax', () => {
    expect(
      bearerChallenge({
        resourceMetadata: 'https://r.example/.well-known/oauth-protected-resource',
      }),
    ).toBe('Bearer resource_metadata="https://r.example/.well-known/oauth-protected-resource"')
    expect(
      bearerChallenge({ error: 'insufficient_scope', description: 'say "no"\\', scope: 'a b' }),
    ).toBe('Bearer error="insufficient_scope", error_description="say \\"no\\"\\\\", scope="a b"')
    expect(bearerChallenge({ error: 'invalid_token', description: 'x\r\nInjected: 1' })).toBe(
      'Bearer error="invalid_token", error_description="xInjected: 1"',
    )
  })

  it('are read back from an application response for its error code', () => {
    expect(challengeError('Bearer realm="x", error="insufficient_scope", scope="a"')).toBe(
      'insufficient_scope',
    )
    expect(challengeError('Bearer error_description="error=x"')).toBeUndefined()
    expect(challengeError(undefined)).toBeUndefined()
  })
})

describe('the RFC 9728 metadata location', () => {
  it('inserts the well-known path between the host and the path of the resource', () => {
    expect(metadataUrlFor('https://mcp.example/mcp')).toBe(
      'https://mcp.example/.well-known/oauth-protected-resource/mcp',
    )
    expect(metadataUrlFor('https://api.example')).toBe(
      'https://api.example/.well-known/oauth-protected-resource',
    )
    expect(metadataUrlFor('https://api.example/')).toBe(
      'https://api.example/.well-known/oauth-protected-resource',
    )
    expect(metadataUrlFor('https://api.example:8443/t/1?x=1')).toBe(
      'https://api.example:8443/.well-known/oauth-protected-resource/t/1?x=1',
    )
    expect(metadataPathsFor('https://mcp.example/mcp', true)).toEqual([
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-protected-resource',
    ])
    expect(metadataPathsFor('https://mcp.example/mcp', false)).toEqual([
      '/.well-known/oauth-protected-resource/mcp',
    ])
  })
})

describe('the verified-token LRU', () => {
  it('evicts the least recently used entry when full', () => {
    const lru = new ExpiringLru<number>(2)
    lru.set('a', 1, 10_000, 0)
    lru.set('b', 2, 10_000, 0)
    expect(lru.get('a', 1)).toBe(1)
    lru.set('c', 3, 10_000, 0)
    expect([lru.get('a', 1), lru.get('b', 1), lru.get('c', 1)]).toEqual([1, undefined, 3])
    expect(lru.size).toBe(2)
  })

  it('forgets an entry at its expiry and never keeps one beyond the maximum age', () => {
    const lru = new ExpiringLru<string>(10)
    lru.set('t', 'v', 5_000, 0)
    expect(lru.get('t', 4_999)).toBe('v')
    expect(lru.get('t', 5_000)).toBeUndefined()
    lru.set('long', 'v', Number.POSITIVE_INFINITY, 0)
    expect(lru.get('long', MAX_ENTRY_AGE_MS - 1)).toBe('v')
    expect(lru.get('long', MAX_ENTRY_AGE_MS)).toBeUndefined()
    lru.set('past', 'v', 10, 20)
    expect(lru.size).toBe(0)
  })
})

describe('jose verification errors', () => {
  it('map to the contract reasons with a stable failure detail', () => {
    const claim = (c: string, r = 'check_failed') =>
      new errors.JWTClaimValidationFailed('x', {}, c, r)
    expect(failureFromJose(new errors.JWTExpired('x', {}, 'exp'))).toEqual({
      reason: 'expired',
      failure: 'exp',
      status: 401,
    })
    expect(failureFromJose(claim('aud')).reason).toBe('aud_mismatch')
    expect(failureFromJose(claim('iss')).reason).toBe('invalid_issuer')
    expect(failureFromJose(claim('typ'))).toMatchObject({ reason: 'malformed', failure: 'typ' })
    expect(failureFromJose(claim('jti', 'missing'))).toMatchObject({
      reason: 'malformed',
      failure: 'missing_claim:jti',
    })
    expect(failureFromJose(claim('nbf'))).toMatchObject({ reason: 'other', failure: 'claim:nbf' })
    expect(failureFromJose(new errors.JWSSignatureVerificationFailed()).reason).toBe(
      'invalid_signature',
    )
    expect(failureFromJose(new errors.JWKSNoMatchingKey()).failure).toBe('unknown_kid')
    expect(failureFromJose(new errors.JOSEAlgNotAllowed('x')).failure).toBe('alg_not_allowed')
    expect(failureFromJose(new errors.JWSInvalid('x')).reason).toBe('malformed')
    expect(failureFromJose(new KeySetUnavailable('down'))).toEqual({
      reason: 'other',
      failure: 'jwks_unavailable',
      status: 503,
    })
    expect(failureFromJose(new Error('?'))).toEqual({
      reason: 'other',
      failure: 'verification_failed',
      status: 401,
    })
  })
})
