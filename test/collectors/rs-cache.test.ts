/**
 * The token caches are bounded whatever tokens are sent: entries hold bounded facts and `exp`/
 * `iss` only, weighed, within `cacheSize` entries and `cacheBytes`; the host still reads full
 * claims (decoded again when the token came from the cache).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { detached, ExpiringLru, weighStrings } from '../../src/collectors/rs/cache.js'
import { factsFromClaims, weighFacts } from '../../src/collectors/rs/claims.js'
import { createCore } from '../../src/collectors/rs/core.js'
import { bearer, fastifyApis } from './rs/fastify-api.js'
import {
  ISSUER,
  mint,
  RESOURCE,
  signingKey,
  TestEmitter,
  unsecured,
  type SigningKey,
} from './rs/fixtures.js'

const apis = fastifyApis()
let key: SigningKey
beforeAll(async () => {
  key = await signingKey('k1')
})
afterEach(() => apis.closeAll())

/** A token whose decoded payload is as large as its sender likes. */
function hostile(i: number, items: number): string {
  const now = Math.floor(Date.now() / 1000)
  return unsecured({
    iss: ISSUER,
    aud: [RESOURCE, ...Array.from({ length: items }, (_, k) => `a${k}`)],
    scope: Array.from({ length: items }, (_, k) => `s${k}`).join(' '),
    x: Array.from({ length: items }, (_, k) => ({ k })),
    jti: `j${i}`,
    exp: now + 600,
  })
}

describe('ExpiringLru byte budget', () => {
  it('evicts the least recently used entries to stay within its bytes, and counts them', () => {
    const lru = new ExpiringLru<string>(100, 10_000)
    for (let i = 0; i < 20; i++) lru.set(`k${i}`, 'v', Infinity, 0, 900)
    expect(lru.bytes).toBeLessThanOrEqual(10_000)
    expect(lru.size).toBe(11)
    expect(lru.get('k19', 1)).toBe('v')
    expect(lru.get('k0', 1)).toBeUndefined()
  })

  it('never keeps an entry heavier than a tenth of its budget, and re-setting a key does not count twice', () => {
    const lru = new ExpiringLru<string>(100, 10_000)
    lru.set('small', 'v', Infinity, 0, 500)
    lru.set('huge', 'v', Infinity, 0, 1_001)
    expect(lru.get('huge', 1)).toBeUndefined()
    lru.set('small', 'w', Infinity, 0, 500)
    expect(lru.bytes).toBe(500)
    expect(lru.get('small', 1)).toBe('w')
  })

  it('gives back the weight of an expired entry when it is found expired', () => {
    const lru = new ExpiringLru<string>(10, 10_000)
    lru.set('a', 'v', 100, 0, 700)
    expect(lru.get('a', 200)).toBeUndefined()
    expect(lru.bytes).toBe(0)
  })
})

describe('detached', () => {
  it('copies a value exactly: strings (lone surrogates too), lists, nested objects, numbers', () => {
    const value = {
      issuer: `https://${'x'.repeat(5000)}`.slice(0, 2048),
      rawAud: ['a', 'b\ud800c'.repeat(10), ''],
      token: { exp: 1, aud: ['https://a.example'], fingerprint: 'f'.repeat(43) },
      missing: undefined,
      none: null,
    }
    const copy = detached(value)
    expect(copy).toEqual(value)
    expect(copy).not.toBe(value)
    expect(copy.rawAud).not.toBe(value.rawAud)
  })
})

describe('facts kept of a token', () => {
  it('are bounded however many audiences and scopes the token carries, and weighed', () => {
    const claims = {
      aud: Array.from({ length: 100_000 }, (_, k) => `a${k}`),
      scope: Array.from({ length: 100_000 }, (_, k) => `s${k}`).join(' '),
    }
    const facts = factsFromClaims(claims, 'f'.repeat(43))
    expect(facts.rawAud.length).toBeLessThanOrEqual(256)
    expect(facts.scopes.length).toBeLessThanOrEqual(256)
    expect(weighFacts(facts)).toBeLessThan(64 << 10)
    expect(weighFacts(facts)).toBeGreaterThan(weighStrings([...facts.rawAud, ...facts.scopes]) - 1)
  })
})

describe('the observe-mode cache', () => {
  it('stays within cacheBytes under hundreds of distinct hostile tokens', () => {
    const core = createCore(
      {
        resource: RESOURCE,
        issuer: ISSUER,
        mode: 'observe',
        emitter: new TestEmitter(),
        cacheBytes: 1 << 20,
      },
      { kind: 'resource_server' },
    )
    const view = (token: string) => ({
      req: {},
      raw: { method: 'GET', headers: { authorization: `Bearer ${token}` }, socket: {} },
      res: { writeHead() {}, once() {} },
      url: '/items',
      ip: '127.0.0.1',
      body: () => undefined,
    })
    for (let i = 0; i < 300; i++) core.handle(view(hostile(i, 400)) as never)
    const cache = core.config.decoded
    expect(cache.size).toBeGreaterThan(0)
    expect(cache.size).toBeLessThan(300) // the byte budget, not the entry count, bounded it
    expect(cache.bytes).toBeLessThanOrEqual(1 << 20)
  })

  it('hands the host full claims for a token served from the cache', async () => {
    const seen: unknown[] = []
    const { app } = await apis.api(key, { mode: 'observe' }, (a) =>
      a.get('/claims', async (request) => {
        seen.push(request.audtrail?.claims)
        return { ok: true }
      }),
    )
    const token = hostile(1, 50)
    for (let i = 0; i < 2; i++) await app.inject({ url: '/claims', headers: bearer(token) })
    expect(seen).toHaveLength(2)
    expect(seen[1]).toEqual(seen[0])
    expect((seen[1] as { x: unknown[] }).x).toHaveLength(50)
  })
})

describe('the enforce-mode cache', () => {
  it('hands the host, and the MCP SDK auth info, the verified claims on a cache hit', async () => {
    const seen: { claims: unknown; expiresAt?: number }[] = []
    const { app } = await apis.api(key, {}, (a) =>
      a.get('/claims', async (request) => {
        seen.push({ claims: request.audtrail?.claims, expiresAt: request.audtrail?.expiresAt })
        return { ok: true }
      }),
    )
    const token = await mint({ key, claims: { extra_claim: { nested: [1, 2, 3] } } })
    for (let i = 0; i < 2; i++) await app.inject({ url: '/claims', headers: bearer(token) })
    expect(seen[1]).toEqual(seen[0])
    expect((seen[1]!.claims as { extra_claim: unknown }).extra_claim).toEqual({ nested: [1, 2, 3] })
    expect(typeof seen[1]!.expiresAt).toBe('number')
  })
})
