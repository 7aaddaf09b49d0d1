/**
 * DPoP (RFC 9449) end to end: a real node-oidc-provider (DPoP is built in) issues DPoP-bound
 * tokens to a real DPoP client (oauth4webapi), whose requests reach Fastify resource servers with
 * the collector in enforce and observe mode; then hostile proofs built by hand.
 */
import type { webcrypto } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose'
import * as oauth from 'oauth4webapi'
import Provider, { errors } from 'oidc-provider'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEmitter } from '../../src/collectors/emitter/index.js'
import express from 'express'
import { audtrailExpress } from '../../src/collectors/express.js'
import audtrail from '../../src/collectors/fastify.js'
import { attachOidcProvider } from '../../src/collectors/oidc-provider.js'
import { accessTokenHash } from '../../src/collectors/rs/dpop.js'
import { fingerprintToken } from '../../src/events/fingerprint.js'
import type { AuditEvent, TokenIssuedEvent, TokenPresentedEvent } from '../../src/events/schema.js'

const API = 'https://api.example.com'
const URL_ORDERS = `${API}/orders`

let http: Server
let issuer: string
let enforce: FastifyInstance
let observe: FastifyInstance
const asEvents: AuditEvent[] = []
const enforceEvents: AuditEvent[] = []
const observeEvents: AuditEvent[] = []
const emitters = [asEvents, enforceEvents, observeEvents].map((events) =>
  createEmitter({ transport: { type: 'memory', events }, closeOnExit: false }),
)
const [asEmitter, enforceEmitter, observeEmitter] = emitters as [
  (typeof emitters)[0],
  (typeof emitters)[0],
  (typeof emitters)[0],
]
let keyPair: webcrypto.CryptoKeyPair
let publicJwk: JWK
let jkt: string
let boundToken: string
let bearerToken: string
const client: oauth.Client = { client_id: 'agent' }
const secret = 'agent-secret-0123456789'

/** Routes a request of oauth4webapi (to the public URL) into a Fastify app. */
function fetchInto(app: FastifyInstance) {
  return async (url: string, init: oauth.CustomFetchOptions<string, unknown>) => {
    const u = new URL(url)
    const headers: Record<string, string> = {}
    new Headers(init.headers).forEach((v, k) => (headers[k] = v))
    const res = await app.inject({
      method: init.method as 'GET',
      url: u.pathname + u.search,
      headers,
    })
    return new Response(res.body, {
      status: res.statusCode,
      headers: res.headers as Record<string, string>,
    })
  }
}

async function token(dpop: oauth.DPoPHandle | undefined): Promise<string> {
  const as: oauth.AuthorizationServer = { issuer, token_endpoint: `${issuer}/token` }
  const res = await oauth.clientCredentialsGrantRequest(
    as,
    client,
    oauth.ClientSecretPost(secret),
    new URLSearchParams({ resource: API, scope: 'orders:read' }),
    { DPoP: dpop, [oauth.allowInsecureRequests]: true },
  )
  const body = await oauth.processClientCredentialsResponse(as, client, res)
  return body.access_token
}

async function flushed(events: AuditEvent[]): Promise<TokenPresentedEvent[]> {
  await Promise.all(emitters.map((e) => e.flush()))
  return events.filter((e): e is TokenPresentedEvent => e.event_type === 'token.presented')
}

async function lastPresented(events: AuditEvent[]): Promise<TokenPresentedEvent> {
  const all = await flushed(events)
  return all[all.length - 1]!
}

async function resourceApp(
  mode: 'enforce' | 'observe',
  emitter: typeof enforceEmitter,
): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(audtrail, {
    resource: API,
    issuer,
    jwks: `${issuer}/jwks`,
    mode,
    emitter,
    requiredScopes: mode === 'enforce' ? ['orders:read'] : undefined,
  })
  app.get('/orders', async (request) => ({ proof: request.audtrail?.proof ?? null }))
  app.post('/orders', async () => ({ created: true }))
  await app.ready()
  return app
}

beforeAll(async () => {
  http = createServer()
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  issuer = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  const provider = new Provider(issuer, {
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] },
    scopes: ['orders:read'],
    clients: [
      {
        client_id: 'agent',
        client_secret: secret,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_post',
        id_token_signed_response_alg: 'ES256',
        scope: 'orders:read',
      },
    ],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // Built into oidc-provider v9 and on by default; named here so the test says what it uses.
      dPoP: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined as unknown as string,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== API) throw new errors.InvalidTarget()
          return {
            scope: 'orders:read',
            audience: API,
            accessTokenTTL: 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          }
        },
      },
    },
  })
  attachOidcProvider(provider, { emitter: asEmitter })
  http.on('request', provider.callback())
  enforce = await resourceApp('enforce', enforceEmitter)
  observe = await resourceApp('observe', observeEmitter)

  keyPair = await oauth.generateKeyPair('ES256')
  publicJwk = await exportJWK(keyPair.publicKey)
  jkt = await calculateJwkThumbprint(publicJwk)
  boundToken = await token(oauth.DPoP(client, keyPair))
  bearerToken = await token(undefined)
})

afterAll(async () => {
  await Promise.all([enforce?.close(), observe?.close()])
  await Promise.all(emitters.map((e) => e.close()))
  http.closeAllConnections()
  await new Promise<void>((resolve) => http.close(() => resolve()))
})

/** A request through oauth4webapi's DPoP support (a fresh proof each time). */
async function dpopRequest(app: FastifyInstance, method = 'GET', url = URL_ORDERS) {
  return oauth.protectedResourceRequest(boundToken, method, new URL(url), new Headers(), null, {
    DPoP: oauth.DPoP(client, keyPair),
    [oauth.customFetch]: fetchInto(app),
  })
}

/** A proof built by hand: what a hostile or broken client sends. */
async function proof(
  overrides: {
    claims?: Record<string, unknown>
    header?: Record<string, unknown>
    key?: webcrypto.CryptoKey | Uint8Array
    alg?: string
  } = {},
): Promise<string> {
  const claims: Record<string, unknown> = {
    jti: crypto.randomUUID(),
    htm: 'GET',
    htu: URL_ORDERS,
    iat: Math.floor(Date.now() / 1000),
    ath: accessTokenHash(boundToken),
    ...overrides.claims,
  }
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k]
  return new SignJWT(claims)
    .setProtectedHeader({
      alg: overrides.alg ?? 'ES256',
      typ: 'dpop+jwt',
      jwk: publicJwk,
      ...overrides.header,
    } as never)
    .sign(overrides.key ?? keyPair.privateKey)
}

async function send(app: FastifyInstance, dpopProof: string | string[], method = 'GET') {
  return app.inject({
    method: method as 'GET',
    url: '/orders',
    headers: { authorization: `DPoP ${boundToken}`, dpop: dpopProof as string },
  })
}

describe('DPoP-bound tokens from a real node-oidc-provider', () => {
  it('are issued with cnf.jkt of the client key, recorded by the AS collector', async () => {
    await asEmitter.flush()
    const issued = asEvents.filter((e): e is TokenIssuedEvent => e.event_type === 'token.issued')
    expect(issued).toHaveLength(2)
    expect(issued[0]!.token.cnf).toEqual({ jkt })
    expect(issued[0]!.token.fingerprint).toBe(fingerprintToken(boundToken))
    expect(issued[1]!.token.cnf).toBeUndefined()
    expect(issued[0]!.attributes?.token_type).toBe('DPoP')
  })

  it('are accepted with a valid proof from oauth4webapi, the proof facts recorded, never the proof', async () => {
    const res = await dpopRequest(enforce)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ proof: { scheme: 'DPoP', verdict: 'valid', jkt } })
    const event = await lastPresented(enforceEvents)
    expect(event).toMatchObject({
      decision: 'accepted',
      reason: 'ok',
      token: { fingerprint: fingerprintToken(boundToken), cnf: { jkt } },
      proof: {
        scheme: 'DPoP',
        verdict: 'valid',
        htm: 'GET',
        htu: URL_ORDERS,
        ath: 'match',
        alg: 'ES256',
        jkt,
      },
    })
    expect(event.proof?.jti_fingerprint).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(event.proof?.failure).toBeUndefined()
    expect(JSON.stringify(enforceEvents)).not.toContain(boundToken.split('.')[2])
  })

  it('are refused as Bearer in enforce mode (downgrade), with a DPoP challenge', async () => {
    const res = await enforce.inject({
      url: '/orders',
      headers: { authorization: `Bearer ${boundToken}` },
    })
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toMatch(
      /^DPoP error="invalid_token", error_description="The access token is bound to a key this request did not prove possession of", algs="RS256 .*ES256.*", resource_metadata="/,
    )
    expect(await lastPresented(enforceEvents)).toMatchObject({
      decision: 'rejected',
      reason: 'other',
      proof: { scheme: 'Bearer', verdict: 'invalid', failure: 'bound_token_as_bearer' },
      attributes: { failure: 'bound_token_as_bearer' },
    })
  })

  it('are served as Bearer in observe mode, and the downgrade recorded', async () => {
    const res = await observe.inject({
      url: '/orders',
      headers: { authorization: `Bearer ${boundToken}` },
    })
    expect(res.statusCode).toBe(200)
    expect(await lastPresented(observeEvents)).toMatchObject({
      decision: 'accepted',
      token: { cnf: { jkt } },
      proof: { scheme: 'Bearer', verdict: 'invalid', failure: 'bound_token_as_bearer' },
    })
  })

  it('leave a bearer token a bearer presentation (verdict absent)', async () => {
    const res = await enforce.inject({
      url: '/orders',
      headers: { authorization: `Bearer ${bearerToken}` },
    })
    expect(res.statusCode).toBe(200)
    const event = await lastPresented(enforceEvents)
    expect(event.proof).toEqual({ scheme: 'Bearer', verdict: 'absent' })
    expect(event.token?.cnf).toBeUndefined()
  })

  it('observe mode records a valid proof as valid and a bad one as invalid, serving both', async () => {
    expect((await dpopRequest(observe)).status).toBe(200)
    expect((await lastPresented(observeEvents)).proof?.verdict).toBe('valid')
    const res = await send(observe, await proof({ claims: { htm: 'POST' } }))
    expect(res.statusCode).toBe(200)
    expect((await lastPresented(observeEvents)).proof).toMatchObject({
      verdict: 'invalid',
      failure: 'htm_mismatch',
    })
  })
})

describe('hostile DPoP proofs in enforce mode', () => {
  const cases: [string, () => Promise<string | string[]>, string][] = [
    [
      'a proof for another URL (htu)',
      () => proof({ claims: { htu: 'https://evil.example/orders' } }),
      'htu_mismatch',
    ],
    ['a proof for another method (htm)', () => proof({ claims: { htm: 'POST' } }), 'htm_mismatch'],
    [
      'a stale proof (iat ten minutes old)',
      () => proof({ claims: { iat: Math.floor(Date.now() / 1000) - 600 } }),
      'iat_stale',
    ],
    [
      'a proof from the future',
      () => proof({ claims: { iat: Math.floor(Date.now() / 1000) + 600 } }),
      'iat_future',
    ],
    ['a proof without ath', () => proof({ claims: { ath: undefined } }), 'ath_missing'],
    [
      'a proof for another token (ath)',
      () => proof({ claims: { ath: accessTokenHash('other') } }),
      'ath_mismatch',
    ],
    ['a proof without jti', () => proof({ claims: { jti: undefined } }), 'proof_claims'],
    ['a proof with the wrong typ', () => proof({ header: { typ: 'JWT' } }), 'proof_typ'],
    [
      'a proof signed with HS256',
      () => proof({ alg: 'HS256', key: new TextEncoder().encode('x'.repeat(32)) }),
      'proof_alg',
    ],
    ['an unsigned proof (alg none)', async () => unsigned(), 'proof_alg'],
    [
      'a proof signed by another key than its jwk',
      async () => proof({ key: (await oauth.generateKeyPair('ES256')).privateKey }),
      'proof_signature',
    ],
    [
      'a proof whose jwk holds the private key',
      async () => proof({ header: { jwk: await exportJWK(await privateOf()) } }),
      'proof_private_key',
    ],
    ['two proofs', async () => [await proof(), await proof()], 'proof_multiple'],
    ['a proof that is not a JWT', async () => 'not-a-jwt', 'proof_syntax'],
  ]
  it.each(cases)('refuses %s (invalid_dpop_proof)', async (_name, build, failure) => {
    const res = await send(enforce, await build())
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toMatch(/^DPoP error="invalid_dpop_proof", /)
    expect(res.json()).toEqual({
      error: 'invalid_dpop_proof',
      error_description: 'The DPoP proof is invalid',
    })
    const event = await lastPresented(enforceEvents)
    expect(event).toMatchObject({
      decision: 'rejected',
      proof: { scheme: 'DPoP', verdict: 'invalid', failure },
    })
  })

  it('refuses a valid proof by another key than the token is bound to (jkt mismatch)', async () => {
    const other = await oauth.generateKeyPair('ES256')
    const otherJwk = await exportJWK(other.publicKey)
    const res = await send(
      enforce,
      await proof({ key: other.privateKey, header: { jwk: otherJwk } }),
    )
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toMatch(/^DPoP error="invalid_token", /)
    expect(await lastPresented(enforceEvents)).toMatchObject({
      proof: {
        verdict: 'invalid',
        failure: 'jkt_mismatch',
        jkt: await calculateJwkThumbprint(otherJwk),
      },
      token: { cnf: { jkt } },
    })
  })

  it('refuses a bearer token sent with the DPoP scheme (not bound)', async () => {
    const claims = { ath: accessTokenHash(bearerToken) }
    const res = await enforce.inject({
      url: '/orders',
      headers: { authorization: `DPoP ${bearerToken}`, dpop: await proof({ claims }) },
    })
    expect(res.statusCode).toBe(401)
    expect((await lastPresented(enforceEvents)).proof).toMatchObject({ failure: 'token_not_bound' })
  })

  it('accepts a replayed proof at one server (no jti store) but records the same jti fingerprint twice', async () => {
    const replayed = await proof()
    expect((await send(enforce, replayed)).statusCode).toBe(200)
    expect((await send(enforce, replayed)).statusCode).toBe(200)
    const [a, b] = (await flushed(enforceEvents)).slice(-2)
    expect(a!.proof?.jti_fingerprint).toBeDefined()
    expect(a!.proof?.jti_fingerprint).toBe(b!.proof?.jti_fingerprint)
    expect(a!.event_id).not.toBe(b!.event_id)
  })

  it('accepts the htu in another spelling that normalizes the same (RFC 3986 6.2.2, 6.2.3)', async () => {
    const res = await send(
      enforce,
      await proof({ claims: { htu: 'HTTPS://API.example.com:443/%6Frders' } }),
    )
    expect(res.statusCode).toBe(200)
  })
})

function unsigned(): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const claims = {
    jti: crypto.randomUUID(),
    htm: 'GET',
    htu: URL_ORDERS,
    iat: Math.floor(Date.now() / 1000),
    ath: accessTokenHash(boundToken),
  }
  return `${enc({ alg: 'none', typ: 'dpop+jwt', jwk: publicJwk })}.${enc(claims)}.`
}

async function privateOf(): Promise<webcrypto.CryptoKey> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  return privateKey
}

describe('the Express / MCP collector with DPoP', () => {
  it('accepts a real DPoP request over HTTP, the htu checked against the resource origin and the original URL', async () => {
    const events: AuditEvent[] = []
    const emitter = createEmitter({ transport: { type: 'memory', events }, closeOnExit: false })
    const app = express()
    app.use(
      '/mcp',
      audtrailExpress({
        resource: API,
        issuer,
        jwks: `${issuer}/jwks`,
        mode: 'enforce',
        emitter,
      }),
    )
    app.post('/mcp', (req, res) => {
      res.json({ proof: (req as { audtrail?: { proof?: unknown } }).audtrail?.proof })
    })
    const server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    const port = (server.address() as AddressInfo).port
    try {
      // The client calls the public URL; the request reaches this server on loopback.
      const toLocal = (url: string, init: RequestInit) =>
        fetch(`http://127.0.0.1:${port}${new URL(url).pathname}`, init)
      const call = (dpop: oauth.DPoPHandle, url = `${API}/mcp`) =>
        oauth.protectedResourceRequest(boundToken, 'POST', new URL(url), new Headers(), '{}', {
          DPoP: dpop,
          [oauth.customFetch]: toLocal,
        })
      const ok = await call(oauth.DPoP(client, keyPair))
      expect(ok.status).toBe(200)
      expect(await ok.json()).toEqual({ proof: { scheme: 'DPoP', verdict: 'valid', jkt } })
      // A proof made for another server's URL, sent here: oauth4webapi surfaces the challenge.
      const elsewhere = await call(
        oauth.DPoP(client, keyPair),
        'https://other.example.com/mcp',
      ).then(
        () => undefined,
        (err: unknown) => err as oauth.WWWAuthenticateChallengeError,
      )
      expect(elsewhere?.response.status).toBe(401)
      expect(elsewhere?.cause.map((c) => [c.scheme, c.parameters.error])).toEqual([
        ['dpop', 'invalid_dpop_proof'],
      ])
      await emitter.flush()
      const presented = events.filter(
        (e): e is TokenPresentedEvent => e.event_type === 'token.presented',
      )
      expect(presented.map((e) => [e.decision, e.proof?.verdict, e.proof?.failure])).toEqual([
        ['accepted', 'valid', undefined],
        ['rejected', 'invalid', 'htu_mismatch'],
      ])
    } finally {
      server.close()
      await emitter.close()
    }
  })
})
