/**
 * buildApp(deps): the Fastify app (never listens by itself), with every route module of routes/
 * the process serves (route.ts: one declaration per route, one hook for all).
 */
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { registerConsole, type ConsoleOptions } from '../console/index.js'
import { LOG_SERIALIZERS, type Logger } from '../logger.js'
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
import { installRouteGuard, loadRoutes, registerRoutes, type RouteDeps } from './route.js'

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string })
  .version

/**
 * `ingest` is present when this process accepts events (serve, or api with ingest), `storage`
 * when it answers analysts' queries.
 */
export interface AppDeps extends RouteDeps {
  logger: Logger
  /** Largest request body in bytes (default 10 MiB). */
  bodyLimit?: number
  /** Most milliseconds to receive a whole request, then 408 (default 300 000, Node's). */
  requestTimeout?: number
  /** The analyst console at `/` (src/console): its sign-in; absent, it opens directly. */
  console?: ConsoleOptions
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
  const registered: string[] = []
  installErrorHandler(app, registered)
  installRawTokenGuard(app)
  installAuthFailureLimit(app, deps.authenticate)
  app.addHook('onRoute', (r) => {
    // The console's pages are not API routes (not documented, not under /v1).
    if ((r.config as { console?: boolean } | undefined)?.console) return
    for (const method of [r.method].flat())
      if (method !== 'HEAD') registered.push(`${method} ${r.url}`)
  })
  app.decorate('audtrailRoutes', registered)
  installRouteGuard(app, deps.authenticate)
  const routes = await loadRoutes()
  const document = openApiDocument(VERSION, routes)
  await registerRoutes(app, routes, deps)
  // /docs (Swagger UI for browsers, the JSON otherwise), /openapi.json, and the console pages.
  await registerConsole(app, {
    document,
    authenticate: deps.authenticate,
    pages: deps.storage !== undefined,
    console: deps.console,
  })
  return app
}
