import Fastify, { type FastifyInstance } from 'fastify'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEmitter, type AudtrailEmitter } from '../../src/collectors/emitter/index.js'
import { audtrailExpress } from '../../src/collectors/express.js'
import audtrail from '../../src/collectors/fastify.js'
import { fingerprintToken } from '../../src/events/fingerprint.js'
import type { AuditEvent, TokenPresentedEvent } from '../../src/events/schema.js'
import { API_B, MCP_A, startAuthorizationServer, type AuthorizationServer } from './rs/as-peer.js'
import { capturedLogger } from './rs/fixtures.js'
import { listen, mcpApp, mcpSession, type Listening } from './rs/mcp-peer.js'

// One AS, two resources: an MCP server (Express collector) and an API (Fastify collector).
let as: AuthorizationServer
let mcp: Listening
let api: FastifyInstance
let laxApi: FastifyInstance
const logs = capturedLogger()

/** The real emitter with its memory transport: `events()` flushes, then reads what was sent. */
function sink(): { emitter: AudtrailEmitter; events(): Promise<TokenPresentedEvent[]> } {
  const sent: AuditEvent[] = []
  const emitter = createEmitter({
    transport: { type: 'memory', events: sent },
    logger: logs.logger,
    closeOnExit: false,
  })
  return {
    emitter,
    async events() {
      await emitter.flush()
      return sent as TokenPresentedEvent[]
    },
  }
}
const mcpEvents = sink()
const apiEvents = sink()
const laxEvents = sink()
let tokenA: string
let tokenB: string

beforeAll(async () => {
  as = await startAuthorizationServer()
  mcp = await listen(
    mcpApp(
      audtrailExpress({
        resource: MCP_A,
        issuer: as.issuer,
        jwks: as.jwksUri,
        mode: 'enforce',
        emitter: mcpEvents.emitter,
        source: { kind: 'mcp_server', id: 'mcp-a' },
        requiredScopes: ['tools:call'],
        protect: '/mcp',
        logger: logs.logger,
      }),
    ),
  )
  api = Fastify({ loggerInstance: logs.logger }) as unknown as FastifyInstance
  await api.register(audtrail, {
    resource: API_B,
    issuer: as.issuer,
    jwks: as.jwksUri,
    mode: 'enforce',
    emitter: apiEvents.emitter,
    requiredScopes: ['items:read'],
    protectedResourceMetadata: true,
  })
  api.get('/items', async (request) => ({ items: [], client: request.audtrail?.clientId }))
  await api.ready()
  // The same API without enforcement: a host that never looks at `aud`.
  laxApi = Fastify({ loggerInstance: logs.logger }) as unknown as FastifyInstance
  await laxApi.register(audtrail, {
    resource: API_B,
    issuer: as.issuer,
    mode: 'observe',
    emitter: laxEvents.emitter,
  })
  laxApi.get('/items', async (request, reply) =>
    request.headers.authorization ? { items: [] } : reply.code(401).send({}),
  )
  await laxApi.ready()
  tokenA = await as.token(MCP_A, 'tools:call')
  tokenB = await as.token(API_B, 'items:read')
})
afterAll(async () => {
  await Promise.all([api?.close(), laxApi?.close(), mcp?.close()])
  await Promise.all([mcpEvents, apiEvents, laxEvents].map((s) => s.emitter.close()))
  await as?.close()
})

describe('tokens from a real node-oidc-provider at real resource servers', () => {
  it('are accepted by the MCP server they were minted for, tool calls recorded field by field', async () => {
    const result = await mcpSession(mcp.url, tokenA)
    expect(result).toEqual({ tools: ['echo', 'whoami'], echo: 'hello', whoami: 'agent-1' })
    const { jti, exp, iat } = decodeJwt(tokenA)
    const calls = (await mcpEvents.events()).filter((e) => e.tool?.method === 'tools/call')
    expect(calls.map((e) => e.tool?.name)).toEqual(['echo', 'whoami'])
    for (const event of calls) {
      expect(event).toMatchObject({
        event_type: 'token.presented',
        source: { kind: 'mcp_server', id: 'mcp-a' },
        issuer: as.issuer,
        resource: MCP_A,
        presented_aud: [MCP_A],
        aud_validated: true,
        decision: 'accepted',
        reason: 'ok',
        client_id: 'agent-1',
        subject: 'agent-1',
        token: {
          jti,
          iat,
          exp,
          fingerprint: fingerprintToken(tokenA),
          aud: [MCP_A],
          scopes: ['tools:call'],
          format: 'jwt',
        },
        http: { method: 'POST', path: '/mcp', status: 200 },
      })
    }
    for (const s of [mcpEvents, apiEvents, laxEvents]) expect(s.emitter.stats().dropped).toBe(0)
  })

  it('are accepted by the Fastify API they were minted for', async () => {
    const res = await api.inject({ url: '/items', headers: { authorization: `Bearer ${tokenB}` } })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ items: [], client: 'agent-1' })
    expect((await apiEvents.events()).at(-1)).toMatchObject({
      resource: API_B,
      presented_aud: [API_B],
      decision: 'accepted',
      token: { jti: decodeJwt(tokenB).jti, fingerprint: fingerprintToken(tokenB) },
    })
  })

  it('are rejected with 401 and a resource_metadata challenge at the other resource (enforce)', async () => {
    const res = await api.inject({ url: '/items', headers: { authorization: `Bearer ${tokenA}` } })
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toBe(
      'Bearer error="invalid_token", error_description="The access token was not issued for this resource", resource_metadata="https://api-b.example/.well-known/oauth-protected-resource"',
    )
    expect((await apiEvents.events()).at(-1)).toMatchObject({
      resource: API_B,
      presented_aud: [MCP_A],
      aud_validated: true,
      decision: 'rejected',
      reason: 'aud_mismatch',
      client_id: 'agent-1',
      token: { jti: decodeJwt(tokenA).jti, fingerprint: fingerprintToken(tokenA) },
    })

    await expect(mcpSession(mcp.url, tokenB)).rejects.toThrow()
    expect((await mcpEvents.events()).at(-1)).toMatchObject({
      resource: MCP_A,
      presented_aud: [API_B],
      decision: 'rejected',
      reason: 'aud_mismatch',
      tool: { method: 'initialize' },
      token: { jti: decodeJwt(tokenB).jti },
    })
  })

  it('are accepted by a lax host in observe mode and recorded with aud_validated false', async () => {
    const res = await laxApi.inject({
      url: '/items',
      headers: { authorization: `Bearer ${tokenA}` },
    })
    expect(res.statusCode).toBe(200)
    expect((await laxEvents.events()).at(-1)).toMatchObject({
      resource: API_B,
      presented_aud: [MCP_A],
      aud_validated: false,
      decision: 'accepted',
      reason: 'ok',
      token: { jti: decodeJwt(tokenA).jti, fingerprint: fingerprintToken(tokenA) },
    })
  })

  it('are rejected with 403 insufficient_scope when minted without the scope the server requires', async () => {
    const readOnly = await as.token(MCP_A, 'tools:read')
    await expect(mcpSession(mcp.url, readOnly)).rejects.toThrow()
    expect((await mcpEvents.events()).at(-1)).toMatchObject({
      decision: 'rejected',
      reason: 'insufficient_scope',
      http: { status: 403 },
    })
  })

  it('never appear raw in any event or log line', async () => {
    const sent = await Promise.all([mcpEvents, apiEvents, laxEvents].map((s) => s.events()))
    expect(sent.flat().length).toBeGreaterThan(10)
    for (const s of [mcpEvents, apiEvents, laxEvents]) expect(s.emitter.stats().dropped).toBe(0)
    const everything = JSON.stringify(sent) + logs.lines.join('\n')
    for (const token of [tokenA, tokenB]) expect(everything).not.toContain(token)
    // Also not a recognizable part of one: the signature segment is unique to each token.
    for (const token of [tokenA, tokenB]) expect(everything).not.toContain(token.split('.')[2])
  })
})
