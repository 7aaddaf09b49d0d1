import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import audtrail, { type FastifyCollectorOptions } from '../../src/collectors/fastify.js'
import { fingerprintToken } from '../../src/events/fingerprint.js'
import {
  capturedLogger,
  ISSUER,
  mint,
  RESOURCE,
  signingKey,
  TestEmitter,
  type SigningKey,
} from './rs/fixtures.js'

const OTHER = 'https://mcp-a.example/mcp'
let key: SigningKey
let apps: FastifyInstance[] = []

beforeAll(async () => {
  key = await signingKey('k1')
})
afterEach(async () => {
  await Promise.all(apps.map((a) => a.close()))
  apps = []
})

/** A host app with its own (lax or strict) token handling behind the collector. */
async function host(options: Partial<FastifyCollectorOptions> = {}, emitter = new TestEmitter()) {
  const { logger, lines } = capturedLogger()
  const app = Fastify({ loggerInstance: logger }) as unknown as FastifyInstance
  apps.push(app)
  await app.register(audtrail, {
    resource: RESOURCE,
    issuer: ISSUER,
    mode: 'observe',
    emitter,
    ...options,
  })
  // Lax: any bearer token will do.
  app.get('/lax', async (request, reply) =>
    request.headers.authorization ? { ok: true } : reply.code(401).send({ error: 'no token' }),
  )
  // Strict: checks the claims itself (decoded by the collector, unverified: for the test only).
  app.get('/strict', async (request, reply) => {
    const claims = request.audtrail?.claims
    if (claims?.aud === RESOURCE && claims.iss === ISSUER && claims.exp! > Date.now() / 1000)
      return { ok: true }
    return reply.code(401).header('www-authenticate', 'Bearer error="invalid_token"').send({})
  })
  app.get('/scoped', async (_request, reply) =>
    reply.code(403).header('www-authenticate', 'Bearer error="insufficient_scope"').send({}),
  )
  app.get('/public', async () => ({ ok: true }))
  await app.ready()
  return { app, emitter, lines }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

describe('the Fastify collector in observe mode', () => {
  it('never blocks: a lax app accepts a token for another resource, recorded with aud_validated false', async () => {
    const { app, emitter } = await host()
    const token = await mint({ key, claims: { aud: OTHER, jti: 'replayed-1' } })
    const res = await app.inject({ url: '/lax', headers: bearer(token) })
    expect(res.statusCode).toBe(200)
    expect(emitter.invalid).toEqual([])
    expect(emitter.events[0]).toMatchObject({
      resource: RESOURCE,
      presented_aud: [OTHER],
      aud_validated: false,
      decision: 'accepted',
      reason: 'ok',
      client_id: 'agent-1',
      token: { jti: 'replayed-1', fingerprint: fingerprintToken(token), format: 'jwt' },
      attributes: { collector_mode: 'observe', claims_verified: false },
    })
  })

  it('records the app rejecting a token for another resource as aud_mismatch', async () => {
    const { app, emitter } = await host({ appValidatesAudience: true })
    const res = await app.inject({
      url: '/strict',
      headers: bearer(await mint({ key, claims: { aud: OTHER } })),
    })
    expect(res.statusCode).toBe(401)
    expect(emitter.events[0]).toMatchObject({
      decision: 'rejected',
      reason: 'aud_mismatch',
      aud_validated: true,
      attributes: { rejected_by: 'app' },
    })
  })

  it('infers expired, invalid_issuer, aud_mismatch and insufficient_scope from what the app rejected', async () => {
    const { app, emitter } = await host()
    const tokens = [
      await mint({ key, expiresIn: -600 }),
      await mint({ key, claims: { iss: 'https://x.example' } }),
      // Trailing-slash drift: not this resource under exact comparison.
      await mint({ key, claims: { aud: `${RESOURCE}/` } }),
      await mint({ key }),
    ]
    for (const token of tokens) await app.inject({ url: '/strict', headers: bearer(token) })
    await app.inject({ url: '/scoped', headers: bearer(tokens[3]!) })
    expect(emitter.events.map((e) => [e.decision, e.reason])).toEqual([
      ['rejected', 'expired'],
      ['rejected', 'invalid_issuer'],
      ['rejected', 'aud_mismatch'],
      ['accepted', 'ok'],
      ['rejected', 'insufficient_scope'],
    ])
  })

  it('records a missing token only when the app turned the request away', async () => {
    const { app, emitter } = await host()
    expect((await app.inject({ url: '/public' })).statusCode).toBe(200)
    expect((await app.inject({ url: '/lax' })).statusCode).toBe(401)
    expect(emitter.events).toHaveLength(1)
    expect(emitter.events[0]).toMatchObject({
      decision: 'rejected',
      reason: 'missing_token',
      http: { path: '/lax', status: 401 },
    })
  })

  it('records an opaque token by fingerprint only', async () => {
    const { app, emitter } = await host()
    await app.inject({ url: '/lax', headers: bearer('2YotnFZFEjr1zCsicMWpAA') })
    expect(emitter.events[0]).toMatchObject({
      decision: 'accepted',
      presented_aud: [],
      token: { fingerprint: fingerprintToken('2YotnFZFEjr1zCsicMWpAA'), format: 'opaque' },
    })
    expect(emitter.events[0]!.token!.jti).toBeUndefined()
  })

  it('uses the shared fingerprint key when one is configured', async () => {
    const { app, emitter } = await host({ fingerprintKey: 'shared-secret' })
    const token = await mint({ key })
    await app.inject({ url: '/lax', headers: bearer(token) })
    expect(emitter.events[0]!.token!.fingerprint).toBe(fingerprintToken(token, 'shared-secret'))
  })
})

describe('a collector under hostile input or failure', () => {
  it('keeps serving when the emitter throws, and logs it without the token', async () => {
    for (const mode of ['enforce', 'observe'] as const) {
      const emitter = new TestEmitter()
      emitter.throws = true
      const { app, lines } = await host({ mode, jwks: { keys: [key.publicJwk] } }, emitter)
      const token = await mint({ key })
      for (let i = 0; i < 3; i++) {
        const res = await app.inject({ url: '/lax', headers: bearer(token) })
        expect(res.statusCode).toBe(200)
      }
      const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.audtrail === 'emit_failed')
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatchObject({ level: 40, err: { message: 'transport exploded' } })
      expect(lines.join('')).not.toContain(token)
    }
  })

  it('answers 401 malformed for garbage and an oversized token, never decoding the latter', async () => {
    const { app, emitter } = await host({ mode: 'enforce', jwks: { keys: [key.publicJwk] } })
    const huge = `${'A'.repeat(40_000)}.${'B'.repeat(40_000)}.C`
    for (const token of ['a.b.c', 'not a token!', huge]) {
      const res = await app.inject({ url: '/lax', headers: bearer(token) })
      expect(res.statusCode).toBe(401)
    }
    expect(emitter.invalid).toEqual([])
    expect(emitter.events.map((e) => [e.reason, e.attributes?.failure, e.token?.format])).toEqual([
      ['malformed', 'jws_invalid', 'opaque'],
      ['malformed', 'token_syntax', 'opaque'],
      ['malformed', 'token_too_large', undefined],
    ])
    expect(emitter.events[2]!.token!.fingerprint).toBe(fingerprintToken(huge))
  })

  it('keeps events within the contract whatever the claims and headers carry', async () => {
    const { app, emitter } = await host()
    const token = await mint({
      key,
      claims: {
        jti: 'j'.repeat(300),
        client_id: 'agent\u0000\nforged-line',
        aud: [
          `https://r.example/${'p'.repeat(3000)}`,
          ...Array.from({ length: 99 }, (_, i) => `https://r${i}.example`),
        ],
        scope: Array.from({ length: 400 }, (_, i) => `s${i}`).join(' '),
        iat: 1.5,
        exp: 1e20,
      },
    })
    const res = await app.inject({
      url: `/lax?${'q'.repeat(5000)}`,
      headers: { ...bearer(token), 'user-agent': 'u'.repeat(5000), 'mcp-name': 'x'.repeat(5000) },
    })
    expect(res.statusCode).toBe(200)
    expect(emitter.invalid).toEqual([])
    const event = emitter.events[0]!
    expect(event.token!.jti).toBeUndefined()
    expect(event.attributes?.oversized_claims).toEqual(['jti'])
    expect(event.client_id).toBe('agent\uFFFD\uFFFDforged-line')
    expect(event.presented_aud).toHaveLength(64)
    expect(event.presented_aud[0]).toHaveLength(2048)
    expect(event.token!.scopes).toHaveLength(256)
    expect(event.token!.iat).toBe(1)
    expect(event.token!.exp).toBeUndefined()
    expect(event.http!.path).toBe('/lax')
  })

  it('fails closed in enforce mode and open in observe mode when a host callback throws', async () => {
    const boom = () => {
      throw new Error('callback bug')
    }
    const enforce = await host({
      mode: 'enforce',
      jwks: { keys: [key.publicJwk] },
      requiredScopes: boom,
    })
    const token = await mint({ key })
    expect((await enforce.app.inject({ url: '/lax', headers: bearer(token) })).statusCode).toBe(500)
    expect(enforce.emitter.events[0]).toMatchObject({
      decision: 'rejected',
      reason: 'other',
      attributes: { failure: 'internal_error' },
    })
    const observe = await host({ protect: boom })
    expect((await observe.app.inject({ url: '/lax', headers: bearer(token) })).statusCode).toBe(200)
    expect(observe.lines.join('')).toContain('callback bug')
  })
})
