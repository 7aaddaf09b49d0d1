/** `audtrail/collectors/express`: Express / plain Node `(req, res, next)` middleware for resource and MCP servers. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createCore, type AudtrailRequestInfo, type Gate } from './rs/core.js'
import type { CollectorOptions } from './rs/options.js'
import type { MetadataRoute } from './rs/metadata.js'
import { requestPath } from './rs/sanitize.js'

export type * from './rs/public-types.js'

/** The request as Express (or plain Node) hands it over; Express fields are optional. */
export interface AudtrailIncomingMessage extends IncomingMessage {
  /** parsed body (e.g. `express.json()`); read when the response starts, never re-read */
  body?: unknown
  /** client address; Express resolves it through its `trust proxy` setting */
  ip?: string
  originalUrl?: string
  /** set by the collector for requests that carried a token */
  audtrail?: AudtrailRequestInfo
  /** MCP SDK `AuthInfo`, set in enforce mode for accepted tokens when not already set */
  auth?: {
    token: string
    clientId: string
    scopes: string[]
    expiresAt?: number
    resource?: URL
    extra?: Record<string, unknown>
  }
}

export type ExpressCollectorOptions = CollectorOptions<AudtrailIncomingMessage>

export type AudtrailMiddleware = (
  req: AudtrailIncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void

/**
 * Mount it before the routes it protects and after `express.json()` so MCP JSON-RPC bodies are
 * read from `req.body` (the collector never reads the request stream itself, which the MCP SDK's
 * `transport.handleRequest(req, res, req.body)` may still need). Recommended: mount it on the
 * protected paths, `app.use(['/mcp', '/.well-known/oauth-protected-resource'], collector)`, so
 * Express itself decides what it sees (as it routes: any case, trailing slash, absolute form);
 * with `protectedResourceMetadata` it answers the RFC 9728 well-known paths it is mounted on.
 * Mounted at the root, `protect` prefixes are judged on the canonical path (rs/protect.ts),
 * taken from `originalUrl`, the target as received, never the mount-stripped `url`.
 */
export function audtrailExpress(options: ExpressCollectorOptions): AudtrailMiddleware {
  const core = createCore(options, { kind: 'resource_server' })
  const { metadata } = core
  const resource = core.config.base.resource

  function apply(gate: Gate, req: AudtrailIncomingMessage, res: ServerResponse): boolean {
    if (gate.kind === 'reply') {
      if (!res.headersSent) {
        res.statusCode = gate.status
        for (const [name, value] of Object.entries(gate.headers)) res.setHeader(name, value)
        res.end(gate.body)
      }
      return false
    }
    if (gate.info !== undefined) {
      req.audtrail = gate.info
      if (gate.info.verified && gate.token !== undefined && req.auth === undefined) {
        const info = gate.info
        const exp = info.expiresAt
        req.auth = {
          token: gate.token,
          clientId: info.clientId ?? '',
          scopes: [...info.scopes],
          expiresAt: typeof exp === 'number' ? exp : undefined,
          resource: new URL(resource),
          // Read when the host reads it (a cached token's claims are decoded only then).
          extra: {
            get claims() {
              return info.claims
            },
          },
        }
      }
    }
    return true
  }

  return function audtrail(req, res, next) {
    let gate: Gate | Promise<Gate>
    try {
      if (metadata !== undefined && serveMetadata(metadata, req, res)) return
      gate = core.handle({
        req,
        raw: req,
        res,
        url: req.originalUrl ?? req.url,
        // Express routes on `url`, which a host middleware may have rewritten.
        alternates: [req.url, `${(req as { baseUrl?: string }).baseUrl ?? ''}${req.url ?? ''}`],
        ip: req.ip,
        body: () => req.body,
      })
    } catch {
      // handle() never throws; this only guards the metadata write.
      return next()
    }
    if (!(gate instanceof Promise)) {
      if (safeApply(gate, req, res)) next()
      return
    }
    // handle() never rejects; a throwing `next` (plain Node) must not become an unhandled rejection.
    gate
      .then((g) => {
        // Answered by the host while the token was being verified: nothing more may run for it.
        if (safeApply(g, req, res) && !res.headersSent) next()
      })
      .catch((err: unknown) => core.config.warn('internal_error', err))
  }

  function safeApply(g: Gate, req: AudtrailIncomingMessage, res: ServerResponse): boolean {
    try {
      return apply(g, req, res)
    } catch {
      if (g.kind === 'pass') return true
      res.destroy()
      return false
    }
  }
}

function serveMetadata(
  m: MetadataRoute,
  req: AudtrailIncomingMessage,
  res: ServerResponse,
): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false
  if (!m.paths.includes(requestPath(req.originalUrl ?? req.url))) return false
  res.statusCode = 200
  for (const [name, value] of Object.entries(m.headers)) res.setHeader(name, value)
  res.end(req.method === 'HEAD' ? undefined : m.body)
  return true
}
