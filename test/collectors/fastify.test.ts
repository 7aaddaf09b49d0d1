import { SignJWT } from 'jose'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { fingerprintToken } from '../../src/events/fingerprint.js'
import { bearer, fastifyApis } from './rs/fastify-api.js'
import { ISSUER, mint, RESOURCE, signingKey, unsecured, type SigningKey } from './rs/fixtures.js'
import type { FastifyCollectorOptions } from '../../src/collectors/fastify.js'
import type { FastifyInstance } from 'fastify'

const METADATA = 'https://api-b.example/.well-known/oauth-protected-resource'
const OTHER = 'https://mcp-a.example/mcp'
const apis = fastifyApis()
let key: SigningKey
let stranger: SigningKey

beforeAll(async () => {
  key = await signingKey('k1')
  stranger = await signingKey('k1') // same kid, different key: a forged signature
})
afterEach(() => apis.closeAll())

const api = (options?: Partial<FastifyCollectorOptions>, routes?: (app: FastifyInstance) => void) =>
  apis.api(key, options, routes)

describe('the Fastify collector in enforce mode', () => {
  it('accepts a valid RFC 9068 token and records every field of the presentation', async () => {
    const { app, emitter, lines } = await api()
    const token = await mint({ key, claims: { jti: 'jti-ok', sid: 'session-9' } })
    const res = await app.inject({ url: '/items?page=2', headers: bearer(token) })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ client: 'agent-1' })
    expect(emitter.invalid).toEqual([])
    const [event] = emitter.events
    expect(event).toMatchObject({
      event_type: 'token.presented',
      tenant: 'default',
      source: { kind: 'resource_server', id: RESOURCE },
      issuer: ISSUER,
      resource: RESOURCE,
      presented_aud: [RESOURCE],
      aud_validated: true,
      decision: 'accepted',
      reason: 'ok',
      client_id: 'agent-1',
      subject: 'user-1',
      session_id: 'session-9',
      http: { method: 'GET', path: '/items', status: 200 },
      network: { ip: '127.0.0.1', user_agent: 'agent/1.0' },
      attributes: { collector_mode: 'enforce', claims_verified: true },
    })
    expect(event!.token).toMatchObject({
      jti: 'jti-ok',
      fingerprint: fingerprintToken(token),
      aud: [RESOURCE],
      scopes: ['tools:read', 'tools:call'],
      format: 'jwt',
    })
    expect(event!.token!.exp! - event!.token!.iat!).toBe(305)
    expect(JSON.stringify(emitter.raw) + lines.join('')).not.toContain(token)
  })

  it('accepts typ application/at+jwt and a token expired within the clock leeway', async () => {
    const { app, emitter } = await api()
    const token = await mint({ key, typ: 'application/at+jwt', expiresIn: -30 })
    expect((await app.inject({ url: '/items', headers: bearer(token) })).statusCode).toBe(200)
    expect(emitter.events[0]).toMatchObject({ decision: 'accepted', reason: 'ok' })
  })

  const cases: [string, () => Promise<string>, string, string][] = [
    [
      'a token minted for another resource',
      () => mint({ key, claims: { aud: OTHER } }),
      'aud_mismatch',
      'aud',
    ],
    ['an expired token', () => mint({ key, expiresIn: -120 }), 'expired', 'exp'],
    [
      'a token from another issuer',
      () => mint({ key, claims: { iss: 'https://evil.example' } }),
      'invalid_issuer',
      'iss',
    ],
    [
      'an unsecured alg none token',
      async () => unsecured({ iss: ISSUER, aud: RESOURCE, exp: 4e9 }),
      'invalid_signature',
      'alg_not_allowed',
    ],
    [
      'a token with a forged signature',
      () => mint({ key: stranger }),
      'invalid_signature',
      'signature',
    ],
    [
      'a token signed by an unknown kid',
      () => mint({ key, kid: 'rotated-away' }),
      'invalid_signature',
      'unknown_kid',
    ],
    [
      'a JWT that is not an access token (typ JWT)',
      () => mint({ key, typ: 'JWT' }),
      'malformed',
      'typ',
    ],
    ['a JWT without typ', () => mint({ key, typ: null }), 'malformed', 'typ'],
    [
      'a token without jti',
      () => mint({ key, claims: { jti: undefined } }),
      'malformed',
      'missing_claim:jti',
    ],
    ['an opaque token', async () => 'opaque-0123456789abcdef', 'malformed', 'jws_invalid'],
  ]
  it.each(cases)(
    'rejects %s with 401 invalid_token and records the reason',
    async (_, make, reason, failure) => {
      const { app, emitter, lines } = await api()
      const token = await make()
      const res = await app.inject({ url: '/items', headers: bearer(token) })
      expect(res.statusCode).toBe(401)
      expect(res.headers['www-authenticate']).toMatch(
        new RegExp(
          `^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="${METADATA}"$`,
        ),
      )
      expect(res.json()).toMatchObject({ error: 'invalid_token' })
      expect(emitter.invalid).toEqual([])
      expect(emitter.events[0]).toMatchObject({
        decision: 'rejected',
        reason,
        aud_validated: true,
        http: { status: 401 },
        attributes: { failure, claims_verified: false, rejected_by: 'collector' },
      })
      expect(emitter.events[0]!.token!.fingerprint).toBe(fingerprintToken(token))
      expect(JSON.stringify(emitter.raw) + lines.join('')).not.toContain(token)
    },
  )

  it('records the unverified claims of a token minted for another resource', async () => {
    const { app, emitter } = await api()
    const token = await mint({
      key,
      claims: { aud: [OTHER], jti: 'stolen-1', client_id: 'agent-7' },
    })
    const res = await app.inject({ url: '/items', headers: bearer(token) })
    expect(res.headers['www-authenticate']).toBe(
      `Bearer error="invalid_token", error_description="The access token was not issued for this resource", resource_metadata="${METADATA}"`,
    )
    expect(emitter.events[0]).toMatchObject({
      presented_aud: [OTHER],
      client_id: 'agent-7',
      token: { jti: 'stolen-1', aud: [OTHER] },
    })
  })

  it('rejects an HMAC token signed with the public key as a secret (algorithm confusion)', async () => {
    const { app, emitter } = await api()
    const secret = new TextEncoder().encode(JSON.stringify(key.publicJwk))
    const token = await new SignJWT({
      iss: ISSUER,
      aud: RESOURCE,
      sub: 'x',
      client_id: 'x',
      jti: 'x',
      iat: 1,
      exp: 4e9,
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'k1' })
      .sign(secret)
    expect((await app.inject({ url: '/items', headers: bearer(token) })).statusCode).toBe(401)
    expect(emitter.events[0]).toMatchObject({
      reason: 'invalid_signature',
      attributes: { failure: 'alg_not_allowed' },
    })
  })

  it('answers a request without a token with a bare challenge and records missing_token', async () => {
    const { app, emitter } = await api()
    for (const headers of [
      {},
      { authorization: 'Basic YWdlbnQ6c2VjcmV0' },
      { authorization: 'Bearer   ' },
    ]) {
      const res = await app.inject({ url: '/items', headers })
      expect(res.statusCode).toBe(401)
      expect(res.headers['www-authenticate']).toBe(`Bearer resource_metadata="${METADATA}"`)
    }
    expect(emitter.events).toHaveLength(3)
    for (const event of emitter.events) {
      expect(event).toMatchObject({
        decision: 'rejected',
        reason: 'missing_token',
        presented_aud: [],
      })
      expect(event.token).toBeUndefined()
    }
  })

  it('answers 403 insufficient_scope with the required scopes when a scope is missing', async () => {
    const { app, emitter } = await api({ requiredScopes: ['tools:read', 'items:write'] })
    const res = await app.inject({ url: '/items', headers: bearer(await mint({ key })) })
    expect(res.statusCode).toBe(403)
    expect(res.headers['www-authenticate']).toBe(
      `Bearer error="insufficient_scope", error_description="The access token lacks a scope this resource requires", scope="tools:read items:write", resource_metadata="${METADATA}"`,
    )
    expect(emitter.events[0]).toMatchObject({
      decision: 'rejected',
      reason: 'insufficient_scope',
      http: { status: 403 },
      attributes: { failure: 'missing_scope:items:write' },
    })
    const missing = await app.inject({ url: '/items' })
    expect(missing.headers['www-authenticate']).toBe(
      `Bearer scope="tools:read items:write", resource_metadata="${METADATA}"`,
    )
  })

  it('takes per-request scopes from a requiredScopes function', async () => {
    const { app } = await api({
      requiredScopes: (req) => (req.method === 'GET' ? ['tools:read'] : ['items:write']),
    })
    const token = await mint({ key })
    expect((await app.inject({ url: '/items', headers: bearer(token) })).statusCode).toBe(200)
    const post = await app.inject({ method: 'POST', url: '/items', headers: bearer(token) })
    expect(post.statusCode).toBe(403)
  })

  it('serves RFC 9728 metadata without a token and records nothing for it', async () => {
    const { app, emitter } = await api({ requiredScopes: ['tools:read'] })
    const res = await app.inject({ url: '/.well-known/oauth-protected-resource' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(res.json()).toEqual({
      resource: RESOURCE,
      authorization_servers: [ISSUER],
      bearer_methods_supported: ['header'],
      scopes_supported: ['tools:read'],
    })
    expect(emitter.raw).toEqual([])
  })

  it('serves the path-suffixed metadata URL for a resource with a path and names it in challenges', async () => {
    const resource = 'https://api-b.example/v1'
    const { app } = await api({
      resource,
      protectedResourceMetadata: { scopesSupported: ['a', 'b'], resourceName: 'API B' },
    })
    const suffixed = await app.inject({ url: '/.well-known/oauth-protected-resource/v1' })
    expect(suffixed.json()).toMatchObject({
      resource,
      resource_name: 'API B',
      scopes_supported: ['a', 'b'],
    })
    expect((await app.inject({ url: '/.well-known/oauth-protected-resource' })).statusCode).toBe(
      200,
    )
    const challenge = (await app.inject({ url: '/items' })).headers['www-authenticate']
    expect(challenge).toBe(
      'Bearer resource_metadata="https://api-b.example/.well-known/oauth-protected-resource/v1"',
    )
  })

  it('protects only the configured path prefixes and never challenges a real CORS preflight', async () => {
    const { app, emitter } = await api({ protect: ['/items'] })
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200)
    expect((await app.inject({ url: '/items' })).statusCode).toBe(401)
    const preflight = {
      origin: 'https://app.example',
      'access-control-request-method': 'POST',
    }
    const cors = await app.inject({ method: 'OPTIONS', url: '/items', headers: preflight })
    expect(cors.statusCode).not.toBe(401)
    // Any other OPTIONS is an ordinary request: a host route may answer it.
    expect((await app.inject({ method: 'OPTIONS', url: '/items' })).statusCode).toBe(401)
    expect(emitter.events.map((e) => `${e.http?.method} ${e.http?.path}`)).toEqual([
      'GET /items',
      'OPTIONS /items',
    ])
  })

  it('records a rejection by the host application after the collector accepted the token', async () => {
    const { app, emitter } = await api({}, (a) =>
      a.get('/forbidden', async (_req, reply) => reply.code(403).send({ error: 'nope' })),
    )
    await app.inject({ url: '/forbidden', headers: bearer(await mint({ key })) })
    expect(emitter.events[0]).toMatchObject({
      decision: 'rejected',
      reason: 'insufficient_scope',
      attributes: { rejected_by: 'app', claims_verified: true },
    })
  })
})
