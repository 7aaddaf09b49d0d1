import { SignJWT, generateKeyPair } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  authorizationRequested,
  tokenExchanged,
  tokenIssued,
  type TokenIssuedInput,
} from '../../src/collectors/as.js'
import { fingerprintToken, parseEvent, type AuditEvent } from '../../src/events/index.js'
import { RAW_JWT_REMOVED } from '../../src/events/raw-token.js'
import { HOSTILE_JWT, HOSTILE_JWT_PARTS } from '../helpers/hostile.js'

const source = { id: 'as-1' }
const T = 'https://t.example.com/'
/** Every e escaped: the JWT shows only once decoded. */
const PERCENT_JWT = HOSTILE_JWT.replace(/e/g, '%65')
const OPAQUE = 'opaque-subject-token-0123456789abcdef'
let accessToken: string

beforeAll(async () => {
  const { privateKey } = await generateKeyPair('ES256')
  // What an AS that accepts resources by prefix with `audience: resource` mints for a hostile
  // resource: the JWT text lands in `aud`, and a scope claim with JWT text too.
  accessToken = await new SignJWT({ scope: `read ${HOSTILE_JWT}`, client_id: 'agent' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
    .setIssuer('https://as.example')
    .setSubject('user-1')
    .setAudience([`${T}${HOSTILE_JWT}`, `${T}${'a'.repeat(3_000)}`])
    .setJti('jti-1')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey)
})

/** The event is valid, as built and after a JSON round trip, and holds none of the secrets. */
function expectClean(event: AuditEvent, secrets: readonly string[] = []): Record<string, unknown> {
  expect(parseEvent(event).ok).toBe(true)
  expect(parseEvent(JSON.parse(JSON.stringify(event))).ok).toBe(true)
  const json = JSON.stringify(event)
  for (const part of HOSTILE_JWT_PARTS) expect(json).not.toContain(part)
  for (const secret of secrets) expect(json).not.toContain(secret)
  return (event.attributes ?? {}) as Record<string, unknown>
}

function issued(extra: Partial<TokenIssuedInput>) {
  return tokenIssued({ source, grantType: 'client_credentials', accessToken, ...extra })
}

describe('raw JWTs in values a client controls', () => {
  it('are cut from the user agent, plain or percent-encoded, and the field marked', () => {
    for (const userAgent of [`agent/1.0 ${HOSTILE_JWT}`, `agent/1.0 ${PERCENT_JWT}`]) {
      const request = authorizationRequested({ source, network: { ip: '10.0.0.1', userAgent } })
      expect(expectClean(request).sanitized).toEqual(['user_agent'])
      expect(request.network).toEqual({
        ip: '10.0.0.1',
        user_agent: expect.stringContaining(RAW_JWT_REMOVED),
      })
      expect(expectClean(issued({ network: { userAgent } })).sanitized).toContain('user_agent')
    }
  })

  it('are cut from requested resources and scopes, one item at a time', () => {
    const event = authorizationRequested({
      source,
      requestedResources: [`${T}${HOSTILE_JWT}`, `${T}${PERCENT_JWT}`, `${T}ok`],
      requestedScopes: `read ${HOSTILE_JWT} write`,
    })
    expect(event.requested_resources).toEqual([`${T}${RAW_JWT_REMOVED}`, RAW_JWT_REMOVED, `${T}ok`])
    expect(event.requested_scopes).toEqual(['read', RAW_JWT_REMOVED, 'write'])
    expect(expectClean(event).sanitized).toEqual(['requested_resources', 'requested_scopes'])
  })

  it('are cut from granted_aud, token.aud, granted_scopes and token.scopes of a token the AS minted for them', () => {
    const event = issued({ requestedResources: `${T}${HOSTILE_JWT}` })
    const attributes = expectClean(event)
    expect(event.granted_aud[0]).toBe(`${T}${RAW_JWT_REMOVED}`)
    expect(event.token.aud?.[0]).toBe(`${T}${RAW_JWT_REMOVED}`)
    // Over 2 048 characters: cut, with a hash suffix that keeps different values apart.
    expect(event.granted_aud[1]).toHaveLength(2_048)
    expect(event.granted_aud[1]).toMatch(/^https:\/\/t\.example\.com\/a+\.\.\.[\w-]{16}$/)
    expect(event.granted_scopes).toEqual(['read', RAW_JWT_REMOVED])
    expect(event.token.scopes).toEqual(['read', RAW_JWT_REMOVED])
    expect(event.token.jti).toBe('jti-1')
    expect(event.token.fingerprint).toBe(fingerprintToken(accessToken))
    expect(attributes.sanitized).toEqual([
      'granted_aud',
      'granted_scopes',
      'requested_resources',
      'token.aud',
      'token.scopes',
    ])
  })

  it('are cut from previous_aud and grant_resources, and the resource switch still compared', () => {
    const event = issued({
      grantType: 'refresh_token',
      grantResources: [`${T}${HOSTILE_JWT}`, `${T}${'a'.repeat(3_000)}`],
      previousAud: [`${T}${PERCENT_JWT}`],
    })
    const attributes = expectClean(event)
    expect(attributes.grant_resources).toEqual([`${T}${RAW_JWT_REMOVED}`, event.granted_aud[1]])
    expect(attributes.resource_within_grant).toBe(true)
    expect(attributes.previous_aud).toEqual([RAW_JWT_REMOVED])
    expect(attributes.resource_switch).toBe(true)
    expect(attributes.sanitized).toEqual(
      expect.arrayContaining(['grant_resources', 'previous_aud']),
    )
    // What an earlier event emitted, passed back as previousAud, compares equal.
    const again = issued({ grantType: 'refresh_token', previousAud: event.granted_aud })
    expect(expectClean(again).resource_switch).toBe(false)
  })

  it('are cut from the attributes the AS passes, keys and nested values included', () => {
    const circular: Record<string, unknown> = { name: 'loop' }
    circular.self = circular
    const event = authorizationRequested({
      source,
      attributes: {
        leaked: HOSTILE_JWT,
        nested: { deep: [`x ${PERCENT_JWT}`, 1, true, null] },
        [HOSTILE_JWT]: 'key',
        circular,
        big: 10n,
        fn: () => 1,
        nan: Number.NaN,
        when: new Date(0),
      },
    })
    const attributes = expectClean(event)
    expect(attributes).toMatchObject({
      leaked: RAW_JWT_REMOVED,
      nested: { deep: [RAW_JWT_REMOVED, 1, true, null] },
      [RAW_JWT_REMOVED]: 'key',
      circular: { name: 'loop' },
      big: '10',
      when: '1970-01-01T00:00:00.000Z',
    })
    expect(attributes.fn).toBeUndefined()
    expect(attributes.sanitized).toEqual([
      'attributes.[raw JWT removed]',
      'attributes.circular',
      'attributes.fn',
      'attributes.leaked',
      'attributes.nan',
      'attributes.nested',
    ])
  })
})

describe('lengths, surrogates, lists and types a client chooses', () => {
  it('never leaves half a surrogate pair, wherever the cut falls', () => {
    for (let pad = 0; pad < 24; pad++) {
      const resource = `${T}${'p'.repeat(pad)}${'😀'.repeat(1_100)}`
      const userAgent = `${'u'.repeat(pad)}${'😀'.repeat(600)}`
      const scope = `${'s'.repeat(pad)}${'😀'.repeat(140)}`
      const event = authorizationRequested({
        source,
        requestedResources: resource,
        requestedScopes: [scope],
        network: { userAgent },
      })
      expectClean(event)
      for (const value of [event.requested_resources[0]!, event.network!.user_agent!])
        expect(value).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/)
      expect(event.requested_resources[0]!.length).toBeLessThanOrEqual(2_048)
      expect(event.requested_scopes[0]!.length).toBeLessThanOrEqual(256)
    }
  })

  it('replaces lone surrogates a client sent', () => {
    const event = authorizationRequested({
      source,
      requestedResources: `${T}a\ud800b`,
      network: { userAgent: 'x\udc00' },
    })
    expectClean(event)
    expect(event.requested_resources).toEqual([`${T}a\ufffdb`])
    expect(event.network?.user_agent).toBe('x\ufffd')
  })

  it('keeps the first 64 of 10 000 resources and counts them all', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => `${T}r${i}`)
    const event = authorizationRequested({ source, requestedResources: many })
    const attributes = expectClean(event)
    expect(event.requested_resources).toEqual(many.slice(0, 64))
    expect(attributes).toMatchObject({
      requested_resources_count: 10_000,
      sanitized: ['requested_resources'],
    })
  })

  it('keeps empty resources, names empty scopes and audiences, leaves out empty identifiers', () => {
    const event = issued({
      accessToken: OPAQUE,
      clientId: '',
      subject: '',
      requestedResources: ['', `${T}x`],
      requestedScopes: [''],
      grantedAud: [''],
      network: { userAgent: '' },
    })
    const attributes = expectClean(event)
    expect(event.requested_resources).toEqual(['', `${T}x`])
    expect(event.requested_scopes).toEqual(['(empty)'])
    expect(event.granted_aud).toEqual(['(empty)'])
    expect(event.client_id).toBeUndefined()
    expect(event.subject).toBeUndefined()
    expect(event.network).toBeUndefined()
    expect(attributes.sanitized).toEqual(['granted_aud', 'requested_scopes'])
  })

  it('turns non-strings in lists into their text and marks the field', () => {
    const event = authorizationRequested({
      source,
      requestedResources: [1, null, { a: 1 }, undefined, 2n, Symbol('s')] as never,
      requestedScopes: 42 as never,
    })
    expectClean(event)
    expect(event.requested_resources).toEqual([
      '1',
      'null',
      '{"a":1}',
      '(undefined)',
      '2',
      '(symbol)',
    ])
    expect(event.requested_scopes).toEqual(['42'])
    expect(event.attributes?.sanitized).toEqual(['requested_resources', 'requested_scopes'])
  })

  it('cleans a client_id with control characters and leaves out one over 256 characters', () => {
    const controlled = authorizationRequested({ source, clientId: 'agent\n\u0000x' })
    expectClean(controlled)
    expect(controlled.client_id).toBe('agent\ufffd\ufffdx')
    expect(controlled.attributes?.sanitized).toEqual(['client_id'])
    const long = issued({
      accessToken: OPAQUE,
      clientId: 'c'.repeat(257),
      subject: `s${HOSTILE_JWT}`,
    })
    const attributes = expectClean(long)
    expect(long.client_id).toBeUndefined()
    expect(long.subject).toBeUndefined()
    expect(attributes.oversized_ids).toEqual(['client_id', 'subject'])
    expect(attributes.sanitized).toEqual(['client_id', 'subject'])
    const jwtId = authorizationRequested({ source, clientId: `x${HOSTILE_JWT.slice(0, 200)}.a.b` })
    expectClean(jwtId)
  })

  it('reads around a Proxy whose getters throw, for the input and for a list', () => {
    // What the AS configures itself (source, tenant, keys) is read strictly: see the last test.
    const AS_OWN = new Set<string | symbol>([
      'source',
      'grantType',
      'accessToken',
      'fingerprintKey',
      'tenant',
      'issuer',
      'eventId',
      'occurredAt',
    ])
    const boom = () => {
      throw new Error('getter exploded')
    }
    const list = new Proxy([`${T}a`, `${T}b`], { get: boom })
    const input = new Proxy(
      { source, grantType: 'client_credentials', accessToken, requestedResources: list },
      {
        get: (target, key) => (AS_OWN.has(key) ? Reflect.get(target, key) : boom()),
      },
    )
    const event = tokenIssued(input)
    const attributes = expectClean(event)
    expect(event.requested_resources).toEqual([])
    expect(event.token.fingerprint).toBe(fingerprintToken(accessToken))
    // Every member read around is named, as the field it would have filled.
    expect(attributes.sanitized).toEqual([
      'attributes',
      'client_id',
      'grant_resources',
      'granted_aud',
      'granted_scopes',
      'network',
      'previous_aud',
      'requested_resources',
      'requested_scopes',
      'session_id',
      'subject',
      'token',
      // the hostile audience and scope of the access token itself
      'token.aud',
      'token.scopes',
    ])
    const listed = authorizationRequested({ source, requestedResources: list as never })
    expect(expectClean(listed).sanitized).toEqual(['requested_resources'])
    const { proxy, revoke } = Proxy.revocable({ a: 1 }, {})
    revoke()
    const revoked = authorizationRequested({
      source,
      attributes: proxy,
      requestedScopes: proxy as never,
    })
    expect(expectClean(revoked).sanitized).toEqual(['attributes', 'requested_scopes'])
  })

  it('reduces attributes that outgrow the contract, keeping the marks', () => {
    const attributes = Object.fromEntries(
      Array.from({ length: 80 }, (_, i) => [`k${i}`, `${'v'.repeat(1_000)}${i}`]),
    )
    const event = authorizationRequested({ source, attributes, requestedScopes: `a\u0007` })
    const out = expectClean(event)
    // Keys past the contract's 64 are not read; the rest are dropped, largest first, to fit.
    expect(out.sanitized).toEqual(['attributes', 'requested_scopes'])
    expect((out.reduced as string[]).length).toBeGreaterThan(0)
    for (const path of out.reduced as string[]) expect(path).toMatch(/^attributes\.k\d+$/)
    expect(JSON.stringify(out).length).toBeLessThanOrEqual(16_384)
  })
})

describe('secrets a client copies into a field', () => {
  it('are cut from that field and the field marked: the exchange is still recorded', () => {
    for (const subjectToken of [OPAQUE, HOSTILE_JWT]) {
      const event = tokenExchanged({
        source,
        clientId: subjectToken,
        subjectToken,
        accessToken: 'issued-opaque-token-9876543210',
        requestedResources: [
          `${T}?t=${subjectToken}`,
          `${T}${encodeURIComponent(subjectToken).replace(/-/g, '%2D')}`,
        ],
        network: { userAgent: `agent ${subjectToken}` },
        attributes: { note: subjectToken },
      })
      const attributes = expectClean(event, [subjectToken, 'issued-opaque-token-9876543210'])
      expect(event.subject_token.fingerprint).toBe(fingerprintToken(subjectToken))
      expect(event.requested_resources).toEqual([`${T}?t=${RAW_JWT_REMOVED}`, RAW_JWT_REMOVED])
      expect(event.network?.user_agent).toBe(`agent ${RAW_JWT_REMOVED}`)
      // An identifier over 256 characters is left out, a shorter one cut.
      if (subjectToken.length > 256) expect(attributes.oversized_ids).toEqual(['client_id'])
      else expect(event.client_id).toBe(RAW_JWT_REMOVED)
      expect(attributes.note).toBe(RAW_JWT_REMOVED)
      expect(attributes.sanitized).toEqual([
        'attributes.note',
        'client_id',
        'requested_resources',
        'user_agent',
      ])
    }
  })

  it('are cut when an access token or another credential of the request is copied', () => {
    const opaque = 'opaque-access-token-0123456789'
    const event = tokenIssued({
      source,
      grantType: 'refresh_token',
      accessToken: opaque,
      requestedScopes: `read ${opaque}`,
      secrets: ['client-secret-0123456789', 'short', undefined],
      requestedResources: `${T}client-secret-0123456789`,
    })
    expectClean(event, [opaque, 'client-secret-0123456789'])
    expect(event.requested_scopes).toEqual(['read', RAW_JWT_REMOVED])
    expect(event.requested_resources).toEqual([`${T}${RAW_JWT_REMOVED}`])
  })

  it('leave a subject token jti that is too long or holds a JWT out of the reference', async () => {
    const { privateKey } = await generateKeyPair('ES256')
    for (const jti of ['j'.repeat(300), `j ${HOSTILE_JWT}`, 'j\u0000']) {
      const subjectToken = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256' })
        .setJti(jti)
        .sign(privateKey)
      const event = tokenExchanged({ source, subjectToken, accessToken: OPAQUE })
      const attributes = expectClean(event, [subjectToken])
      expect(event.subject_token.fingerprint).toBe(fingerprintToken(subjectToken))
      expect(attributes.sanitized).toEqual(['subject_token.jti'])
      if (jti.length > 256) expect(event.subject_token.jti).toBeUndefined()
      else expect(event.subject_token.jti).toMatch(/^j[\s\S]/)
    }
  })
})

describe('what stays a programming mistake of the AS', () => {
  it('a missing source or grantType, or a source getter that throws, throws TypeError', () => {
    expect(() => tokenIssued({ grantType: 'x', accessToken } as never)).toThrow(
      new TypeError('tokenIssued: source is required'),
    )
    expect(() => tokenIssued({ source, accessToken } as never)).toThrow(
      new TypeError('tokenIssued: grantType is required'),
    )
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('no')
        },
      },
    )
    expect(() => authorizationRequested(hostile as never)).toThrow(
      new TypeError('authorizationRequested: input.source could not be read'),
    )
  })
})
