import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { JWK } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import audtrail, { type FastifyCollectorOptions } from '../../src/collectors/fastify.js'
import { bearer, fastifyApis } from './rs/fastify-api.js'
import { ISSUER, mint, signingKey, TestEmitter, type SigningKey } from './rs/fixtures.js'

const apis = fastifyApis()
let key: SigningKey

beforeAll(async () => {
  key = await signingKey('k1')
})
afterEach(async () => {
  vi.useRealTimers()
  await apis.closeAll()
})

const api = (options?: Partial<FastifyCollectorOptions>) => apis.api(key, options)

describe('the verified-token cache', () => {
  it('verifies a repeated token once and a new token again', async () => {
    const getKey = vi.fn(async () => key.publicKey)
    const { app, emitter } = await api({ jwks: getKey })
    const token = await mint({ key })
    for (let i = 0; i < 5; i++) await app.inject({ url: '/items', headers: bearer(token) })
    expect(getKey).toHaveBeenCalledTimes(1)
    await app.inject({ url: '/items', headers: bearer(await mint({ key })) })
    expect(getKey).toHaveBeenCalledTimes(2)
    expect(emitter.events).toHaveLength(6)
    expect(new Set(emitter.events.map((e) => e.event_id)).size).toBe(6)
  })

  it('stops accepting a cached token once it expires beyond the leeway', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { app, emitter } = await api()
    const token = await mint({ key, expiresIn: 100 })
    expect((await app.inject({ url: '/items', headers: bearer(token) })).statusCode).toBe(200)
    vi.setSystemTime(Date.now() + 150_000)
    expect((await app.inject({ url: '/items', headers: bearer(token) })).statusCode).toBe(200)
    vi.setSystemTime(Date.now() + 20_000)
    expect((await app.inject({ url: '/items', headers: bearer(token) })).statusCode).toBe(401)
    expect(emitter.events.map((e) => e.reason)).toEqual(['ok', 'ok', 'expired'])
  })

  it('verifies a new token once for concurrent requests', async () => {
    const getKey = vi.fn(async () => key.publicKey)
    const { app, emitter } = await api({ jwks: getKey })
    const token = await mint({ key })
    const all = await Promise.all(
      Array.from({ length: 8 }, () => app.inject({ url: '/items', headers: bearer(token) })),
    )
    expect(all.map((r) => r.statusCode)).toEqual(Array(8).fill(200))
    expect(getKey).toHaveBeenCalledTimes(1)
    expect(emitter.events).toHaveLength(8)
  })

  it('does not cache when cacheSize is 0', async () => {
    const getKey = vi.fn(async () => key.publicKey)
    const { app } = await api({ jwks: getKey, cacheSize: 0 })
    const token = await mint({ key })
    for (let i = 0; i < 3; i++) await app.inject({ url: '/items', headers: bearer(token) })
    expect(getKey).toHaveBeenCalledTimes(3)
  })
})

describe('a remote JWKS', () => {
  let server: Server
  let keys: JWK[] = []
  let url = ''
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ keys }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('picks up a rotated signing key on an unknown kid', async () => {
    const next = await signingKey('k2')
    keys = [key.publicJwk]
    const { app, emitter } = await api({ jwks: url, jwksFetch: { cooldownMs: 0 } })
    expect(
      (await app.inject({ url: '/items', headers: bearer(await mint({ key })) })).statusCode,
    ).toBe(200)
    const rotated = await mint({ key: next })
    expect((await app.inject({ url: '/items', headers: bearer(rotated) })).statusCode).toBe(401)
    keys = [key.publicJwk, next.publicJwk]
    expect((await app.inject({ url: '/items', headers: bearer(rotated) })).statusCode).toBe(200)
    expect(emitter.events.map((e) => e.attributes?.failure ?? e.reason)).toEqual([
      'ok',
      'unknown_kid',
      'ok',
    ])
  })

  it('fails closed with 503 when the JWKS cannot be fetched', async () => {
    const { app, emitter } = await api({
      jwks: 'http://127.0.0.1:9/jwks',
      jwksFetch: { timeoutMs: 2000 },
    })
    const res = await app.inject({ url: '/items', headers: bearer(await mint({ key })) })
    expect(res.statusCode).toBe(503)
    expect(emitter.events[0]).toMatchObject({
      decision: 'rejected',
      reason: 'other',
      attributes: { failure: 'jwks_unavailable' },
    })
  })
})

describe('collector options', () => {
  it('are validated at registration, every problem listed at once', async () => {
    const app = apis.bare()
    await expect(
      app.register(audtrail, {
        resource: 'api-b.example',
        issuer: 'http://as.example',
        mode: 'enforce',
        emitter: {} as TestEmitter,
        requiredScope: ['x'],
      } as unknown as FastifyCollectorOptions),
    ).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
      problems: expect.arrayContaining([
        expect.stringContaining('resource: must be an https URL'),
        expect.stringContaining('issuer: must be an https URL'),
        expect.stringContaining('emitter: must have emit()'),
        expect.stringContaining('requiredScope'),
        'audtrail collector: jwks: required in enforce mode',
      ]),
    })
  })
})

describe('two collectors on one Fastify server', () => {
  it('each guard their own resource and path, sharing the root metadata document', async () => {
    const a = new TestEmitter()
    const b = new TestEmitter()
    const app = apis.bare()
    const common = { issuer: ISSUER, jwks: { keys: [key.publicJwk] }, mode: 'enforce' as const }
    await app.register(audtrail, {
      ...common,
      resource: 'https://tools.example/a',
      emitter: a,
      protect: '/a',
      protectedResourceMetadata: true,
    })
    await app.register(audtrail, {
      ...common,
      resource: 'https://tools.example/b',
      emitter: b,
      protect: '/b',
      protectedResourceMetadata: true,
    })
    app.get('/a/x', async () => 'a')
    app.get('/b/x', async () => 'b')
    await app.ready()
    const forA = await mint({ key, claims: { aud: 'https://tools.example/a' } })
    expect((await app.inject({ url: '/a/x', headers: bearer(forA) })).statusCode).toBe(200)
    expect((await app.inject({ url: '/b/x', headers: bearer(forA) })).statusCode).toBe(401)
    expect(a.events.map((e) => [e.http?.path, e.reason])).toEqual([['/a/x', 'ok']])
    expect(b.events.map((e) => [e.http?.path, e.reason])).toEqual([['/b/x', 'aud_mismatch']])
    const doc = async (url: string) => (await app.inject({ url })).json().resource
    expect(await doc('/.well-known/oauth-protected-resource/a')).toBe('https://tools.example/a')
    expect(await doc('/.well-known/oauth-protected-resource/b')).toBe('https://tools.example/b')
    expect(await doc('/.well-known/oauth-protected-resource')).toBe('https://tools.example/a')
  })
})
