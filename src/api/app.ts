/** buildApp(deps): the Fastify app (never listens by itself), one plugin per route group. */
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { LOG_SERIALIZERS, type Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import type { Authenticate } from './auth.js'
import {
  ApiLogController,
  clientErrorHandler,
  frameworkErrors,
  installErrorHandler,
  installRawTokenGuard,
  MAX_PARAM_LENGTH,
} from './errors.js'
import { installAuthFailureLimit } from './fairness.js'
import { openApiDocument } from './openapi.js'
import type { Storage } from '../storage/client.js'
import { catalogRoutes } from './routes/catalog.js'
import { eventsRoutes } from './routes/events.js'
import { exceptionsRoutes } from './routes/exceptions.js'
import { findingsRoutes } from './routes/findings.js'
import { healthRoutes } from './routes/health.js'
import { ingestRoutes, type IngestDeps } from './routes/ingest.js'
import { reportsRoutes } from './routes/reports.js'

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string })
  .version

export interface AppDeps {
  logger: Logger
  authenticate: Authenticate
  metrics: Metrics
  /** Readiness checks by name (storage, transport): each true when reachable. */
  readiness: () => Promise<Record<string, boolean>>
  /** Present when this process accepts events (serve, or api with ingest). */
  ingest?: IngestDeps
  /** Present when this process answers analysts' queries. */
  storage?: Storage
  /** Largest request body in bytes (default 10 MiB). */
  bodyLimit?: number
  /** Most milliseconds to receive a whole request, then 408 (default 300 000, Node's). */
  requestTimeout?: number
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const requestTimeout = deps.requestTimeout ?? 300_000
  const app = Fastify({
    // pino's Logger and Fastify's logger interface differ only in generic parameters. Requests
    // and errors are logged without headers and raw JWTs, whichever logger is given.
    loggerInstance: deps.logger.child({}, { serializers: LOG_SERIALIZERS }) as FastifyBaseLogger,
    logController: new ApiLogController(),
    bodyLimit: deps.bodyLimit ?? 10 * 1024 * 1024,
    // Every id the event contract accepts fits in a path parameter, percent-encoded.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    requestTimeout,
    // Node checks request timeouts at this interval (30 s by default: longer than short ones).
    http: { connectionsCheckingInterval: Math.min(30_000, Math.max(10, requestTimeout / 4)) },
    genReqId: () => randomUUID(),
    trustProxy: false,
    clientErrorHandler,
    frameworkErrors,
  })
  // Every route, as registered (the OpenAPI test checks the document against this list).
  const routes: string[] = []
  installErrorHandler(app, routes)
  installRawTokenGuard(app)
  installAuthFailureLimit(app, deps.authenticate)
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push(`${method} ${r.url}`)
  })
  app.decorate('audtrailRoutes', routes)
  const document = openApiDocument(VERSION)
  app.get('/docs', async () => document)
  await app.register(healthRoutes, { metrics: deps.metrics, readiness: deps.readiness })
  if (deps.ingest)
    await app.register(ingestRoutes, {
      prefix: '/v1',
      authenticate: deps.authenticate,
      ...deps.ingest,
    })
  if (deps.storage) {
    const query = { prefix: '/v1', storage: deps.storage, authenticate: deps.authenticate }
    await app.register(findingsRoutes, query)
    await app.register(eventsRoutes, query)
    await app.register(catalogRoutes, query)
    await app.register(exceptionsRoutes, query)
    await app.register(reportsRoutes, query)
  }
  return app
}
