import { SignJWT, generateKeyPair } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { authorizationRequested, tokenExchanged, tokenIssued } from '../../src/collectors/as.js'
import { EventValidationError } from '../../src/errors.js'
import { fingerprintToken, parseEvent } from '../../src/events/index.js'

const source = { id: 'as-1' }
const A = 'https://mcp-a.example/mcp'
const B = 'https://api-b.example'
let jwt: string

beforeAll(async () => {
  const { privateKey } = await generateKeyPair('ES256')
  jwt = await new SignJWT({ scope: 'tools:call read', client_id: 'agent' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
    .setIssuer('https://as.example')
    .setSubject('user-1')
    .setAudience(A)
    .setJti('jti-123')
    .setIssuedAt(1_800_000_000)
    .setExpirationTime(1_800_003_600)
    .sign(privateKey)
})

describe('tokenIssued', () => {
  it('fills schema_version, a UUID event_id, occurred_at with milliseconds and the default tenant', () => {
    const event = tokenIssued({ source, grantType: 'client_credentials', accessToken: jwt })
    expect(event.schema_version).toBe(1)
    expect(event.event_id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    )
    expect(event.occurred_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(event.tenant).toBe('default')
    expect(event.source).toEqual({ kind: 'authorization_server', id: 'as-1' })
    expect(parseEvent(JSON.parse(JSON.stringify(event)))).toEqual({ ok: true, event })
  })

  it('decodes jti, iat, exp, aud and scope from a JWT access token and carries only its fingerprint', () => {
    const event = tokenIssued({
      source,
      issuer: 'https://as.example',
      clientId: 'agent',
      grantType: 'authorization_code',
      accessToken: jwt,
      requestedResources: A,
      requestedScopes: 'openid tools:call read',
    })
    expect(event.token).toEqual({
      fingerprint: fingerprintToken(jwt),
      format: 'jwt',
      jti: 'jti-123',
      iat: 1_800_000_000,
      exp: 1_800_003_600,
      aud: [A],
      scopes: ['tools:call', 'read'],
    })
    expect(event.granted_aud).toEqual([A])
    expect(event.granted_scopes).toEqual(['tools:call', 'read'])
    expect(event.requested_resources).toEqual([A])
    expect(event.requested_scopes).toEqual(['openid', 'tools:call', 'read'])
    expect(JSON.stringify(event)).not.toContain(jwt)
  })

  it('uses the HMAC-SHA-256 fingerprint when a key is given', () => {
    const event = tokenIssued({ source, grantType: 'x', accessToken: jwt, fingerprintKey: 'k3y' })
    expect(event.token.fingerprint).toBe(fingerprintToken(jwt, 'k3y'))
    expect(event.token.fingerprint).not.toBe(fingerprintToken(jwt))
  })

  it('gives an opaque token no jti and refuses a jti that is the token itself', () => {
    const opaque = 'Zr3k1xQv0hWm9aPp2sYt7uBn4cDe6fGh8iJk0lMn2oP'
    const event = tokenIssued({
      source,
      grantType: 'client_credentials',
      accessToken: opaque,
      grantedAud: B,
    })
    expect(event.token).toEqual({ fingerprint: fingerprintToken(opaque), format: 'opaque' })
    expect(event.granted_aud).toEqual([B])
    expect(() =>
      tokenIssued({ source, grantType: 'x', accessToken: opaque, token: { jti: opaque } }),
    ).toThrow(
      new TypeError(
        'tokenIssued: token.jti must not be the token itself (opaque tokens: omit jti)',
      ),
    )
  })

  it('lets explicit token fields and granted values win over the decoded claims', () => {
    const event = tokenIssued({
      source,
      grantType: 'x',
      accessToken: jwt,
      token: { exp: 1_800_000_060 },
      grantedAud: [A, B],
      grantedScopes: ['read'],
    })
    expect(event.token.exp).toBe(1_800_000_060)
    expect(event.token.jti).toBe('jti-123')
    expect(event.granted_aud).toEqual([A, B])
    expect(event.granted_scopes).toEqual(['read'])
  })

  it('tells a refresh that switches resource within the original grant from one that leaves it', () => {
    const inside = tokenIssued({
      source,
      grantType: 'refresh_token',
      accessToken: jwt,
      requestedResources: A,
      grantResources: [B, A],
      previousAud: [B],
    })
    expect(inside.attributes).toEqual({
      grant_resources: [B, A],
      resource_within_grant: true,
      previous_aud: [B],
      resource_switch: true,
    })
    const outside = tokenIssued({
      source,
      grantType: 'refresh_token',
      accessToken: jwt,
      grantResources: [B],
      previousAud: [A],
    })
    expect(outside.attributes).toMatchObject({
      resource_within_grant: false,
      resource_switch: false,
    })
  })
})

describe('authorizationRequested', () => {
  it('keeps resource values exactly as received, repeated or none, and splits the scope parameter', () => {
    const odd = 'HTTPS://MCP-A.example:443/mcp/'
    const event = authorizationRequested({
      source,
      clientId: 'agent',
      requestedResources: [A, odd, ''],
      requestedScopes: 'openid  tools:call',
      network: { ip: '::ffff:10.0.0.7', userAgent: 'agent/1.0' },
    })
    expect(event.requested_resources).toEqual([A, odd, ''])
    expect(event.requested_scopes).toEqual(['openid', 'tools:call'])
    expect(event.network).toEqual({ ip: '10.0.0.7', user_agent: 'agent/1.0' })
    expect(event.token).toBeUndefined()
    expect(event.attributes).toBeUndefined()
    expect(authorizationRequested({ source }).requested_resources).toEqual([])
  })

  it('makes client-controlled values representable and names every field it had to change', () => {
    const long = `https://x.example/${'a'.repeat(3_000)}`
    const many = Array.from({ length: 70 }, (_, i) => `https://r${i}.example`)
    const event = authorizationRequested({
      source,
      requestedResources: ['https://x.example/\nINJECTED', long, ...many],
      requestedScopes: ['ok', 's\u0007'],
      network: { ip: 'not-an-ip', userAgent: 'u'.repeat(2_000) },
    })
    expect(event.requested_resources).toHaveLength(64)
    expect(event.requested_resources[0]).toBe('https://x.example/%0AINJECTED')
    expect(event.requested_resources[1]).toHaveLength(2_048)
    expect(event.requested_resources[1]).toMatch(
      /^https:\/\/x\.example\/a+\.\.\.[A-Za-z0-9_-]{16}$/,
    )
    expect(event.requested_scopes).toEqual(['ok', 's%07'])
    expect(event.network).toEqual({ user_agent: expect.stringMatching(/^u+\.\.\./) })
    expect(event.network!.user_agent).toHaveLength(1_024)
    expect(event.attributes).toEqual({
      requested_resources_count: 72,
      sanitized: ['requested_resources', 'requested_scopes', 'user_agent'],
    })
  })
})

describe('tokenExchanged', () => {
  it('references the subject and actor tokens by fingerprint (and jti when a JWT), never by value', () => {
    const actorToken = 'actor-opaque-token-value-0123456789'
    const issued = 'issued-opaque-token-value-9876543210'
    const event = tokenExchanged({
      source,
      clientId: 'gateway',
      subjectToken: jwt,
      actor: { clientId: 'gateway', token: actorToken },
      accessToken: issued,
      requestedResources: B,
      grantedAud: B,
    })
    expect(event.event_type).toBe('token.exchanged')
    expect(event.subject_token).toEqual({ fingerprint: fingerprintToken(jwt), jti: 'jti-123' })
    expect(event.actor).toEqual({
      client_id: 'gateway',
      token: { fingerprint: fingerprintToken(actorToken) },
    })
    expect(event.token).toEqual({ fingerprint: fingerprintToken(issued), format: 'opaque' })
    expect(event.granted_aud).toEqual([B])
    for (const secret of [jwt, actorToken, issued])
      expect(JSON.stringify(event)).not.toContain(secret)
  })
})

describe('RFC 8693 delegation facts', () => {
  const sign = async (claims: Record<string, unknown>, jti: string) => {
    const { privateKey } = await generateKeyPair('ES256')
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
      .setJti(jti)
      .sign(privateKey)
  }

  it('records what the subject token allowed and the issued token’s act depth and may_act', async () => {
    const subject = await sign(
      { aud: A, scope: 'tools:call read', may_act: { sub: 'mcp-a', extra: 'x' } },
      'sub-1',
    )
    const issued = await sign(
      {
        aud: B,
        scope: 'orders:read',
        act: { sub: 'mcp-a', act: { sub: 'agent' } },
        may_act: { client_id: 'api-b-worker' },
      },
      'iss-1',
    )
    const event = tokenExchanged({ source, subjectToken: subject, accessToken: issued })
    expect(event.attributes).toEqual({
      subject_token_aud: [A],
      subject_token_scopes: ['tools:call', 'read'],
      subject_token_may_act: { sub: 'mcp-a' },
      act_depth: 2,
      may_act: { client_id: 'api-b-worker' },
    })
    expect(parseEvent(JSON.parse(JSON.stringify(event))).ok).toBe(true)
    for (const secret of [subject, issued]) expect(JSON.stringify(event)).not.toContain(secret)
  })

  it('takes an opaque subject token’s facts from the caller, and may_act from an issued JWT', async () => {
    const event = tokenExchanged({
      source,
      subjectToken: 'opaque-subject-token-0123456789',
      subjectTokenFacts: { aud: [A], scopes: 'read', mayAct: { client_id: 'mcp-a' } },
      accessToken: 'opaque-issued-token-0123456789',
    })
    expect(event.attributes).toEqual({
      subject_token_aud: [A],
      subject_token_scopes: ['read'],
      subject_token_may_act: { client_id: 'mcp-a' },
    })
    const issued = tokenIssued({
      source,
      grantType: 'authorization_code',
      accessToken: await sign({ aud: A, may_act: { sub: 'mcp-a' } }, 'iss-2'),
    })
    expect(issued.attributes).toEqual({ may_act: { sub: 'mcp-a' } })
  })
})

describe('tokens copied into attributes', () => {
  it('are cut out of the attribute, which is marked, instead of a throw', () => {
    const leakedJwt = tokenIssued({
      source,
      grantType: 'x',
      accessToken: jwt,
      attributes: { leaked: jwt },
    })
    expect(leakedJwt.attributes).toEqual({
      leaked: '[raw JWT removed]',
      sanitized: ['attributes.leaked'],
    })
    const opaque = 'opaque-access-token-0123456789'
    const leakedOpaque = tokenIssued({
      source,
      grantType: 'x',
      accessToken: opaque,
      attributes: { leaked: `Bearer ${opaque}` },
    })
    expect(leakedOpaque.attributes).toEqual({
      leaked: 'Bearer [raw JWT removed]',
      sanitized: ['attributes.leaked'],
    })
    expect(JSON.stringify(leakedOpaque)).not.toContain(opaque)
  })
})

describe('programmer mistakes', () => {
  it('throw: TypeError for misuse, EventValidationError (with its code) for an invalid event of the AS', () => {
    expect(() => tokenIssued({ source } as never)).toThrow(
      new TypeError('tokenIssued: grantType is required'),
    )
    expect(() => tokenExchanged({ source, accessToken: jwt })).toThrow(
      new TypeError('tokenExchanged: subjectToken or subjectTokenRef is required'),
    )
    let error: unknown
    try {
      tokenIssued({ source: { id: '' }, grantType: 'x' })
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(EventValidationError)
    expect((error as EventValidationError).code).toBe('ERR_EVENT_INVALID')
    expect((error as EventValidationError).reasons).toEqual([
      'source.id: Too small: expected string to have >=1 characters',
    ])
    expect(() => tokenIssued({ source, grantType: 'x' })).toThrow(
      'invalid event: token: must carry at least one of jti, fingerprint',
    )
  })
})
