/**
 * The demo's resource servers, each with an audtrail collector:
 * - MCP server A enforces (the Express collector validates per RFC 9068 and answers 401/403);
 * - MCP server B observes a host that checks only signature and issuer: any audience and expired
 *   tokens get through, and the collector records what the host decided;
 * - a Fastify API enforces with the Fastify collector.
 */
import Fastify from 'fastify'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import type { RequestHandler } from 'express'
import { audtrailExpress } from '../collectors/express.js'
import audtrail from '../collectors/fastify.js'
import type { Emitter } from '../collectors/types.js'
import { listen, mcpApp, type Listening } from './mcp-server.js'
import { API, MCP_A, MCP_B } from './scenario.js'

export interface AuthorizationServerInfo {
  issuer: string
  jwksUri: string
}

export async function startMcpServerA(
  as: AuthorizationServerInfo,
  emitter: Emitter,
): Promise<Listening> {
  const collector = audtrailExpress({
    resource: MCP_A,
    issuer: as.issuer,
    jwks: as.jwksUri,
    mode: 'enforce',
    emitter,
    source: { kind: 'mcp_server', id: 'mcp-a' },
    requiredScopes: ['tools:call'],
    protectedResourceMetadata: true,
    protect: '/mcp',
  })
  return listen(mcpApp('demo-mcp-a', [collector as RequestHandler]))
}

/** Misconfigured on purpose: no `audience` check, and a year of clock tolerance. */
function laxHostAuth(as: AuthorizationServerInfo): RequestHandler {
  const keys = createRemoteJWKSet(new URL(as.jwksUri))
  return (req, res, next) => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1]
    if (token === undefined) {
      res.status(401).set('www-authenticate', 'Bearer').json({ error: 'unauthorized' })
      return
    }
    jwtVerify(token, keys, { issuer: as.issuer, clockTolerance: 365 * 86_400 }).then(
      ({ payload }) => {
        const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : []
        Object.assign(req, {
          auth: { token, clientId: String(payload.client_id ?? ''), scopes, extra: {} },
        })
        next()
      },
      () => {
        res.status(401).set('www-authenticate', 'Bearer error="invalid_token"').json({})
      },
    )
  }
}

export async function startMcpServerB(
  as: AuthorizationServerInfo,
  emitter: Emitter,
): Promise<Listening> {
  const collector = audtrailExpress({
    resource: MCP_B,
    issuer: as.issuer,
    mode: 'observe',
    appValidatesAudience: false,
    emitter,
    source: { kind: 'mcp_server', id: 'mcp-b' },
    protect: '/mcp',
  })
  return listen(mcpApp('demo-mcp-b', [collector as RequestHandler, laxHostAuth(as)]))
}

export async function startApi(as: AuthorizationServerInfo, emitter: Emitter): Promise<Listening> {
  const app = Fastify({ logger: false })
  await app.register(audtrail, {
    resource: API,
    issuer: as.issuer,
    jwks: as.jwksUri,
    mode: 'enforce',
    emitter,
    source: { kind: 'resource_server', id: 'items-api' },
    protectedResourceMetadata: true,
  })
  app.get('/items', async (request) => ({
    items: [{ id: 1, name: 'quarterly report' }],
    client: request.audtrail?.clientId ?? null,
  }))
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return { url, close: () => app.close() }
}
