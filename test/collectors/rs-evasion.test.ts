/**
 * Attacker-controlled text never decides whether a presentation is recorded: JWT shapes, lone
 * surrogates and oversized values in every field a client writes (headers, path, JSON-RPC body,
 * an unverified token's claims) are cleaned, and the one event of each request reaches the
 * emitter valid, holding no raw token, with the fields it changed named.
 */
import { createServer } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import express from 'express'
import Fastify from 'fastify'
import { createLocalJWKSet, type FlattenedJWSInput, type JWSHeaderParameters } from 'jose'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import audtrail from '../../src/collectors/fastify.js'
import { createEmitter } from '../../src/collectors/emitter/index.js'
import { audtrailExpress } from '../../src/collectors/express.js'
import type { AuditEvent } from '../../src/events/schema.js'
import { parseEvent } from '../../src/events/parse.js'
import { RAW_JWT_REMOVED } from '../../src/events/raw-token.js'
import { bearer, fastifyApis } from './rs/fastify-api.js'
import {
  ISSUER,
  mint,
  RESOURCE as RESOURCE_B,
  signingKey,
  TestEmitter,
  unsecured,
  type SigningKey,
} from './rs/fixtures.js'
import { listen, mcpApp, type Listening } from './rs/mcp-peer.js'

const JWT = 'eyJhbGciOiJub25lIn0.eyJ4IjoxfQ.'
const SIGNED = `eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ2aWN0aW0ifQ.${'Q'.repeat(43)}`
const PERCENT = SIGNED.replace(/e/g, '%65')
const MCP = 'https://mcp-a.example/mcp'
/** Pieces of the hostile tokens that must appear nowhere in an event. */
const SECRETS = [JWT.slice(0, 19), SIGNED.slice(0, 30), SIGNED.slice(-43), 'ZXlKaGJH']

const apis = fastifyApis()
let key: SigningKey
let servers: Listening[] = []
beforeAll(async () => {
  key = await signingKey('k1')
})
afterEach(async () => {
  await apis.closeAll()
  await Promise.all(servers.map((s) => s.close()))
  servers = []
})

function expectClean(emitter: TestEmitter, requests: number) {
  expect(emitter.invalid).toEqual([])
  expect(emitter.events).toHaveLength(requests)
  const json = JSON.stringify(emitter.raw)
  for (const s of SECRETS) expect(json).not.toContain(s)
}

describe('a hostile client on a Fastify resource server', () => {
  const headerCases: [string, Record<string, string>, string][] = [
    ['user agent with a JWT', { 'user-agent': `curl/8 ${JWT}` }, 'network.user_agent'],
    ['percent-escaped JWT in the user agent', { 'user-agent': PERCENT }, 'network.user_agent'],
    ['Mcp-Name with a JWT', { 'mcp-name': SIGNED }, 'tool.header_name'],
    ['Mcp-Method with a JWT', { 'mcp-method': `x ${JWT}` }, 'tool.header_method'],
    [
      'Mcp-Name base64-encoded JWT',
      { 'mcp-name': `=?base64?${Buffer.from(SIGNED).toString('base64')}?=` },
      'tool.header_name',
    ],
    ['Mcp-Session-Id with a JWT', { 'mcp-session-id': SIGNED }, 'attributes.mcp_session_id'],
  ]

  for (const mode of ['enforce', 'observe'] as const)
    for (const [name, headers, field] of headerCases)
      it(`${mode}: ${name} is recorded, cleaned and named in attributes.sanitized`, async () => {
        const { app, emitter } = await apis.api(key, { mode })
        const token = await mint({ key })
        const replay = await mint({ key, claims: { aud: 'https://elsewhere.example' } })
        const answers = [
          await app.inject({ url: '/items', headers }),
          await app.inject({ url: '/items', headers: { ...bearer(token), ...headers } }),
          await app.inject({ url: '/items', headers: { ...bearer(replay), ...headers } }),
        ]
        expect(answers[1]!.statusCode).toBe(200)
        const recorded = mode === 'enforce' ? 3 : 2 // observe: no token, host served: no event
        expectClean(emitter, recorded)
        for (const event of emitter.events)
          expect(event.attributes?.sanitized, JSON.stringify(event)).toContain(field)
        if (mode === 'enforce')
          expect(emitter.events.map((e) => e.reason)).toEqual([
            'missing_token',
            'ok',
            'aud_mismatch',
          ])
      })

  it('a JWT in the path is cut from http.path, and the request still recorded', async () => {
    const { app, emitter } = await apis.api(key, {}, (a) => a.get('/files/:id', async () => 'ok'))
    const token = await mint({ key })
    await app.inject({ url: `/files/${SIGNED}?q=1`, headers: bearer(token) })
    await app.inject({ url: `/files/${PERCENT}`, headers: bearer(token) })
    expectClean(emitter, 2)
    expect(emitter.events[0]!.http?.path).toBe(`/files/${RAW_JWT_REMOVED}`)
    expect(emitter.events[1]!.attributes?.sanitized).toContain('http.path')
  })

  it('observe mode: an unverified token whose claims hold JWTs and lone surrogates is recorded', async () => {
    const { app, emitter } = await apis.api(key, { mode: 'observe' })
    const now = Math.floor(Date.now() / 1000)
    const forged = unsecured({
      iss: `https://as.example/${SIGNED}`,
      aud: [SIGNED, 'https://api-b.example', 'x\ud800'],
      sub: `a\udc00b`,
      client_id: JWT,
      jti: PERCENT,
      scope: `read ${JWT}`,
      exp: now + 60,
    })
    const res = await app.inject({ url: '/items', headers: bearer(forged) })
    expect(res.statusCode).toBe(200)
    expectClean(emitter, 1)
    const [event] = emitter.events
    expect(event!.attributes?.sanitized).toEqual(
      expect.arrayContaining(['issuer', 'client_id', 'token.jti', 'token.aud', 'token.scopes']),
    )
    expect(event!.subject).toBe('a\ufffdb')
  })
})

describe('a hostile client on an Express MCP server (real MCP SDK)', () => {
  async function server(
    mode: 'enforce' | 'observe',
    emitter: TestEmitter | ReturnType<typeof createEmitter>,
  ) {
    const collector = audtrailExpress({
      resource: MCP,
      issuer: ISSUER,
      jwks: { keys: [key.publicJwk] },
      mode,
      emitter,
      source: { kind: 'mcp_server', id: 'mcp-a' },
      protectedResourceMetadata: true,
    })
    const s = await listen(mcpApp(collector), 64 << 10)
    servers.push(s)
    return s
  }

  const post = (url: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${url}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
      body,
    })

  for (const mode of ['enforce', 'observe'] as const)
    it(`${mode}: JWTs and lone surrogates in the JSON-RPC body are recorded, cleaned`, async () => {
      const emitter = new TestEmitter()
      const s = await server(mode, emitter)
      const token = await mint({ key, claims: { aud: MCP } })
      const auth = { authorization: `Bearer ${token}` }
      const bodies = [
        JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: SIGNED } }),
        '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo\\ud800"}}',
        JSON.stringify({ jsonrpc: '2.0', id: 3, method: `${JWT}/x`, params: {} }),
        JSON.stringify(
          Array.from({ length: 64 }, (_, i) => ({
            jsonrpc: '2.0',
            id: i,
            method: 'tools/call',
            params: { name: `${'n'.repeat(200)}${i}` },
          })),
        ),
      ]
      for (const body of bodies) await post(s.url, body, auth)
      await post(s.url, bodies[0]!, { 'user-agent': `agent ${JWT}` })
      const recorded = mode === 'enforce' ? 5 : 4
      expectClean(emitter, recorded)
      const [named, surrogate, method, batch] = emitter.events
      expect(named!.tool?.name).toBe(RAW_JWT_REMOVED)
      expect(named!.attributes?.sanitized).toContain('tool.name')
      expect(surrogate!.tool?.name).toBe('echo\ufffd')
      expect(method!.attributes?.sanitized).toContain('tool.method')
      expect(batch!.attributes?.jsonrpc_batch_size).toBe(64)
      expect(JSON.stringify(batch!.attributes).length).toBeLessThan(16_384)
    })

  it('an event too large to send is sent reduced by the real emitter, never dropped', async () => {
    const events: AuditEvent[] = []
    const emitter = createEmitter({
      transport: { type: 'memory', events },
      maxEventBytes: 16 << 10,
    })
    const s = await server('observe', emitter)
    const now = Math.floor(Date.now() / 1000)
    const wide = unsecured({
      iss: ISSUER,
      aud: Array.from({ length: 8 }, (_, i) => `${'語'.repeat(450)}${i}`),
      exp: now + 60,
    })
    const res = await post(s.url, '{"jsonrpc":"2.0","id":1,"method":"tools/list"}', {
      authorization: `Bearer ${wide}`,
    })
    expect(res.status).toBeLessThan(500)
    await emitter.flush()
    expect(events).toHaveLength(1)
    expect(parseEvent(JSON.parse(JSON.stringify(events[0]))).ok).toBe(true)
    expect(Buffer.byteLength(JSON.stringify(events[0]))).toBeLessThanOrEqual(16 << 10)
    expect(events[0]!.attributes?.reduced).toEqual(expect.arrayContaining(['presented_aud']))
    expect(emitter.stats()).toMatchObject({ reduced: 1, dropped: 0 })
    await emitter.close()
  })
})

describe('a client that leaves, or a batch the collector cannot spell', () => {
  /** Writes the request, then closes the socket at once (`destroy`) or half-closes it (`end`). */
  function leave(port: number, request: string, style: 'destroy' | 'end') {
    return new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        if (style === 'destroy') socket.write(request, () => (socket.destroy(), resolve()))
        else socket.end(request)
      })
      socket.on('close', () => resolve())
      socket.on('error', () => resolve())
    })
  }

  async function settled(emitter: TestEmitter, at: number) {
    for (let i = 0; i < 200 && emitter.events.length <= at; i++)
      await new Promise((r) => setTimeout(r, 10))
    // A second event, were one to come, would follow the handler: give it the same chance.
    await new Promise((r) => setTimeout(r, 100))
    return emitter.events.slice(at)
  }

  it('records a request whose client left while its new token was being verified', async () => {
    const emitter = new TestEmitter()
    const forged = await signingKey('k1') // same kid, another key
    const options = {
      resource: RESOURCE_B,
      issuer: ISSUER,
      jwks: { keys: [key.publicJwk] },
      mode: 'enforce' as const,
      emitter,
    }
    const fastify = Fastify()
    await fastify.register(audtrail, options)
    fastify.post('/admin/delete', async () => 'deleted')
    await fastify.listen({ port: 0, host: '127.0.0.1' })
    const app = express()
    app.use(audtrailExpress(options))
    app.post('/admin/delete', (_req, res) => void res.send('deleted'))
    const server = createServer(app)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const ports = [fastify.server.address(), server.address()].map((a) => (a as AddressInfo).port)
      for (const port of ports)
        for (const signer of [key, forged])
          for (const style of ['destroy', 'end'] as const) {
            const token = await mint({ key: signer, claims: { aud: RESOURCE_B } }) // never cached
            const at = emitter.events.length
            await leave(
              port,
              `POST /admin/delete HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: 0\r\n\r\n`,
              style,
            )
            const recorded = await settled(emitter, at)
            const label = `${port} ${signer === key ? 'valid' : 'forged'} ${style}`
            expect(recorded, label).toHaveLength(1)
            expect(recorded[0]!.reason, label).toBe(signer === key ? 'ok' : 'invalid_signature')
          }
      expect(emitter.invalid).toEqual([])
    } finally {
      await fastify.close()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('records a batch holding an empty method or name (with and without a token, both modes)', async () => {
    for (const mode of ['enforce', 'observe'] as const) {
      const emitter = new TestEmitter()
      const collector = audtrailExpress({
        resource: MCP,
        issuer: ISSUER,
        jwks: { keys: [key.publicJwk] },
        mode,
        emitter,
        source: { kind: 'mcp_server', id: 'mcp-a' },
      })
      const s = await listen(mcpApp(collector))
      servers.push(s)
      const token = await mint({ key, claims: { aud: MCP } })
      const batch = JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } },
        { jsonrpc: '2.0', method: '' },
        { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: '' } },
      ])
      const auths: Record<string, string>[] = [{ authorization: `Bearer ${token}` }, {}]
      for (const auth of auths)
        await fetch(`${s.url}/mcp`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            ...auth,
          },
          body: batch,
        })
      expectClean(emitter, mode === 'enforce' ? 2 : 1)
      expect(emitter.events[0]!.attributes?.jsonrpc_methods).toEqual([
        'tools/call',
        '""',
        'tools/call',
      ])
    }
  })

  it('Express: protects a path a host middleware rewrote into a protected one', async () => {
    const emitter = new TestEmitter()
    const app = express()
    app.use((req, _res, next) => {
      if (req.url.startsWith('/legacy/')) req.url = req.url.slice('/legacy'.length)
      next()
    })
    app.use(
      audtrailExpress({
        resource: RESOURCE_B,
        issuer: ISSUER,
        jwks: { keys: [key.publicJwk] },
        mode: 'enforce',
        emitter,
        protect: '/admin',
      }),
    )
    app.get('/admin/users', (_req, res) => void res.send('users'))
    app.get('/public', (_req, res) => void res.send('public'))
    const s = await listen(app)
    servers.push(s)
    for (const path of ['/legacy/admin/users', '/LEGACY/admin/users', '/admin/users'])
      expect((await fetch(`${s.url}${path}`)).status, path).toBe(
        path === '/LEGACY/admin/users' ? 404 : 401,
      )
    expect((await fetch(`${s.url}/legacy/public`)).status).toBe(200)
    expect(emitter.events.map((e) => e.http?.path)).toEqual(['/legacy/admin/users', '/admin/users'])
  })

  it('a host that answers while the token is being verified: the verdict is recorded, nothing more runs', async () => {
    const emitter = new TestEmitter()
    const forged = await signingKey('k1')
    const local = createLocalJWKSet({ keys: [key.publicJwk] })
    let release!: () => void
    let gate = new Promise<void>((r) => (release = r))
    const jwks = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
      await gate
      return local(header, token)
    }
    const options = {
      resource: RESOURCE_B,
      issuer: ISSUER,
      jwks,
      mode: 'enforce' as const,
      emitter,
    }
    let ran = 0
    const fastify = Fastify()
    fastify.addHook('onRequest', (_req, reply, done) => {
      done()
      setImmediate(() => void reply.code(503).send('busy'))
    })
    await fastify.register(audtrail, options)
    fastify.post('/admin', async () => (ran++, 'done'))
    await fastify.listen({ port: 0, host: '127.0.0.1' })
    const app = express()
    app.use((_req, res, next) => {
      next()
      setImmediate(() => void res.status(503).send('busy'))
    })
    app.use(audtrailExpress(options))
    app.post('/admin', (_req, res) => void (ran++, res.headersSent || res.send('done')))
    const server = createServer(app)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const urls = [fastify.server.address(), server.address()].map(
        (a) => `http://127.0.0.1:${(a as AddressInfo).port}/admin`,
      )
      const cases = [
        { signer: key, expiresIn: 300, decision: 'accepted', reason: 'ok' },
        { signer: forged, expiresIn: 300, decision: 'rejected', reason: 'invalid_signature' },
        { signer: key, expiresIn: -3600, decision: 'rejected', reason: 'expired' },
      ] as const
      for (const url of urls)
        for (const c of cases) {
          const token = await mint({
            key: c.signer,
            expiresIn: c.expiresIn,
            claims: { aud: RESOURCE_B },
          })
          const at = emitter.events.length
          const res = await fetch(url, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}` },
          })
          expect(res.status).toBe(503)
          release()
          const recorded = await settled(emitter, at)
          gate = new Promise<void>((r) => (release = r))
          expect(recorded, `${url} ${c.reason}`).toHaveLength(1)
          expect(recorded[0]).toMatchObject({
            decision: c.decision,
            reason: c.reason,
            http: { status: 503 },
          })
        }
      expect(ran).toBe(0)
    } finally {
      release()
      await fastify.close()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('cuts the presented token, opaque or not, from every text the client copied it into', async () => {
    const opaque = 'at_Q7x9Lm2Pz4Kd8Rt1Vb6Nc3Yw5Hs0Jf'
    // (a signed token is longer than Fastify's default path parameter: only opaque ones in paths)
    const escaped = `${opaque.slice(0, 12)}%${opaque.charCodeAt(12).toString(16)}${opaque.slice(13)}`
    for (const mode of ['enforce', 'observe'] as const) {
      const emitter = new TestEmitter()
      const { app } = await apis.api(
        key,
        { mode },
        (a) => a.get('/files/:id', async () => 'ok'),
        emitter,
      )
      const signed = await mint({ key })
      const requests: [string, string][] = [
        [opaque, `/files/${opaque}`],
        [opaque, `/files/${escaped}`],
        [signed, '/files/x'],
      ]
      for (const [token, url] of requests)
        await app.inject({
          url,
          headers: {
            authorization: `Bearer ${token}`,
            'user-agent': `agent/1 ${token}`,
            'mcp-session-id': token,
            'mcp-name': `x${token.slice(0, 200)}`,
          },
        })
      expect(emitter.invalid).toEqual([])
      expect(emitter.events).toHaveLength(3)
      const json = JSON.stringify(emitter.raw)
      for (const token of [opaque, signed]) expect(json).not.toContain(token.slice(0, 24))
      emitter.events.forEach((event, i) => {
        const cut = ['network.user_agent', 'attributes.mcp_session_id', 'tool.header_name']
        expect(event.attributes?.sanitized).toEqual(
          expect.arrayContaining(i < 2 ? [...cut, 'http.path'] : cut),
        )
      })
    }
  })
})
