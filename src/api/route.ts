/**
 * An API route as one declaration (docs/design/api-routes.md): its method and URL, the role it
 * needs, its request schemas (path parameters, query, body: zod), its responses, what the OpenAPI
 * document says of it, and a handler that receives the caller and the parsed request.
 *
 * - One preHandler hook (`installRouteGuard`) authenticates, checks the role and parses, in that
 *   order, for every declared route: a handler never sees an unauthenticated caller or an
 *   unparsed input, and no /v1 route can be registered without a declaration.
 * - `registerRoutes` adds the declarations to the app; openapi.ts writes the document from them.
 * - Route modules are the files of `routes/` next to this module (src/api/routes/ in the sources,
 *   dist/api/routes/ once built), each exporting `routes`; `loadRoutes` imports them all. Adding a
 *   route is adding (or editing) one file there.
 */
import type { KeyObject } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import type { z } from 'zod'
import type { AliasLookup } from '../events/resource.js'
import type { Metrics, PipelineMetrics } from '../metrics.js'
import type { IngestTarget } from '../pipeline/ingest.js'
import type { Storage } from '../storage/client.js'
import type { ReportThresholds } from '../reports/thresholds.js'
import { requireRole, type Authenticate, type Caller, type Role } from './auth.js'
import { ApiError, ErrorBody } from './errors.js'
import { responseJsonSchema, type JsonSchema } from './schemas/json-schema.js'

/** What a process that accepts events gives its ingest route. */
export interface IngestDeps {
  target: IngestTarget
  retentionDays: number
  pipeline: PipelineMetrics
  aliases?: AliasLookup
}

/** What every handler may use; `storage` and `ingest` only where the process has them. */
export interface RouteDeps {
  authenticate: Authenticate
  metrics: Metrics
  /** Readiness checks by name (storage, transport): each true when reachable. */
  readiness: () => Promise<Record<string, boolean>>
  storage?: Storage
  ingest?: IngestDeps
  /** Signs the JSON compliance reports the API builds (AUDTRAIL_REPORT_SIGNING_KEY). */
  reportSigningKey?: KeyObject
  /** The operator's thresholds over the report's defaults (AUDTRAIL_REPORT_THRESHOLDS). */
  reportThresholds?: ReportThresholds
  /** AUDTRAIL_PUBLIC_URL: links in answers are absolute under it (relative without). */
  publicUrl?: string
  /** Trusted checkpoint keys by kid (GET /v1/integrity; docs/integrity.md). */
  integrityKeys?: ReadonlyMap<string, KeyObject>
}

/**
 * Which process serves a route: `queries` where analysts' queries are answered (with storage),
 * `ingest` where events are accepted; absent: every process.
 */
export type Serves = 'queries' | 'ingest'

type DepsFor<S> = S extends 'queries'
  ? RouteDeps & { storage: Storage }
  : S extends 'ingest'
    ? RouteDeps & { ingest: IngestDeps }
    : RouteDeps

/** `public`: no authentication (the health endpoints; never a route under /v1). */
export type Access = Role | 'public'

/**
 * A response: a zod schema (a JSON body, described "OK"), null (no body), or its description with
 * a JSON schema (null: no body) and other media types, each with its JSON Schema for the
 * document. A response with `content` only is not serialized by Fastify (text, files).
 */
export type ResponseSpec =
  | z.ZodType
  | null
  | { description: string; schema?: z.ZodType | null; content?: Record<string, JsonSchema> }

/** An OpenAPI link: a value of this response (a JSON pointer) as a parameter of another operation. */
export interface LinkSpec {
  operationId: string
  parameter: string
  pointer: string
}

type Input = z.ZodType | undefined
type Out<T> = T extends z.ZodType ? z.output<T> : undefined

export interface RouteContext<P, Q, B, S, R> {
  request: FastifyRequest
  reply: FastifyReply
  /** The authenticated caller, holding the route's role (undefined on public routes). */
  caller: R extends Role ? Caller : undefined
  params: Out<P>
  query: Out<Q>
  body: Out<B>
  deps: DepsFor<S>
}

export interface RouteSpec<
  P extends Input,
  Q extends Input,
  B extends Input,
  S extends Serves | undefined,
  R extends Access,
> {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  /** The path with `:name` parameters, e.g. `/v1/findings/:id`. */
  url: string
  operationId: string
  summary: string
  role: R
  serves?: S
  /** Path parameters (a zod object with a key per `:name`): a 400 with the problems when invalid. */
  params?: P
  /** Query parameters (a zod object): a 400 when invalid. Without it the query is not read. */
  query?: Q
  /** A JSON body (a zod schema): a 400 when invalid. */
  body?: B
  /** Media types the body is taken as bytes (`request.body` a Buffer), each documented by a schema. */
  rawBody?: Record<string, JsonSchema>
  responses: Record<number, ResponseSpec>
  /** Error statuses this route answers beyond the common ones, each with its description. */
  errors?: Record<number, string>
  /** Links of the document, by status and name. */
  links?: Record<number, Record<string, LinkSpec>>
  handler: (context: RouteContext<P, Q, B, S, R>) => Promise<unknown>
}

/** A declared route, whatever its schemas. */
export type Route = RouteSpec<Input, Input, Input, Serves | undefined, Access>

/** A route declaration, its handler typed by its role, schemas and deps. */
export function defineRoute<
  P extends Input = undefined,
  Q extends Input = undefined,
  B extends Input = undefined,
  S extends Serves | undefined = undefined,
  R extends Access = Access,
>(spec: RouteSpec<P, Q, B, S, R>): Route {
  return spec as unknown as Route
}

/** A 400 listing zod's problems (`path: message`; `(query)` for the whole input). */
export function badRequest(error: z.ZodError): ApiError {
  const problems = error.issues.map((i) => `${i.path.join('.') || '(query)'}: ${i.message}`)
  return new ApiError(400, 'ERR_BAD_REQUEST', problems.join('; '))
}

export const isZod = (spec: unknown): spec is z.ZodType =>
  typeof spec === 'object' && spec !== null && 'safeParse' in spec

/** A response's JSON body schema: a zod schema, null (no body), or undefined (not JSON). */
export function jsonBodyOf(spec: ResponseSpec): z.ZodType | null | undefined {
  return spec === null || isZod(spec) ? spec : spec.schema
}

/**
 * Fastify response schemas from the zod schemas of the success bodies, plus the error model.
 * Objects are closed (additionalProperties false): the serializer writes exactly the declared
 * fields, so a field reaches callers only once the OpenAPI document declares it.
 */
function fastifyResponses(route: Route): Record<string, unknown> {
  const out: Record<string, unknown> = { '4xx': ErrorBody, '5xx': ErrorBody }
  for (const [status, spec] of Object.entries(route.responses)) {
    const schema = jsonBodyOf(spec)
    if (schema !== undefined)
      out[status] = schema ? responseJsonSchema(schema, 'serializer') : { type: 'null' }
  }
  return out
}

/** What the guard found for a request: the caller and the parsed inputs. */
interface Parsed {
  caller?: Caller
  params?: unknown
  query?: unknown
  body?: unknown
}
const PARSED = 'audtrailParsed'
const routeOf = (request: FastifyRequest) =>
  (request.routeOptions.config as { audtrailRoute?: Route }).audtrailRoute

function parse(schema: z.ZodType | undefined, value: unknown): unknown {
  if (!schema) return undefined
  const parsed = schema.safeParse(value)
  if (!parsed.success) throw badRequest(parsed.error)
  return parsed.data
}

/**
 * The one hook of every declared route: authentication (401), the role (403), then the path
 * parameters, the query and the body (400), in that order, before the handler. A route under /v1
 * registered without a declaration is refused when it is added.
 */
export function installRouteGuard(app: FastifyInstance, authenticate: Authenticate): void {
  app.decorateRequest(PARSED, null)
  app.addHook('onRoute', (options) => {
    const route = (options.config as { audtrailRoute?: Route } | undefined)?.audtrailRoute
    if (options.url.startsWith('/v1') && !route)
      throw new TypeError(`${options.url}: a /v1 route must be declared with defineRoute`)
  })
  app.addHook('preHandler', async (request) => {
    const route = routeOf(request)
    if (!route) return
    let caller: Caller | undefined
    if (route.role !== 'public') {
      caller = await authenticate(request.headers.authorization)
      requireRole(caller, route.role)
    }
    const parsed: Parsed = {
      caller,
      params: parse(route.params, request.params),
      query: parse(route.query, request.query),
      body: parse(route.body, request.body),
    }
    ;(request as unknown as Record<string, Parsed>)[PARSED] = parsed
  })
}

/** Adds each route the process serves (`serves`: storage or ingest present) to the app. */
export async function registerRoutes(
  app: FastifyInstance,
  routes: readonly Route[],
  deps: RouteDeps,
): Promise<void> {
  for (const route of routes) {
    if (route.serves === 'queries' && !deps.storage) continue
    if (route.serves === 'ingest' && !deps.ingest) continue
    const options: RouteOptions = {
      method: route.method,
      url: route.url,
      schema: { response: fastifyResponses(route) },
      config: { audtrailRoute: route },
      handler: (request, reply) => {
        const parsed = (request as unknown as Record<string, Parsed>)[PARSED]!
        return route.handler({ request, reply, ...parsed, deps } as Parameters<Route['handler']>[0])
      },
    }
    const rawBody = route.rawBody
    if (!rawBody) {
      app.route(options)
      continue
    }
    // Bodies taken as bytes, in a context of the route's own: every other route keeps JSON.
    await app.register(async (scope) => {
      scope.addContentTypeParser(Object.keys(rawBody), { parseAs: 'buffer' }, (_, body, done) =>
        done(null, body),
      )
      scope.route(options)
    })
  }
}

/** `:name` parameters of a route's URL. */
export const urlParams = (url: string): string[] =>
  [...url.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!)

/** Refuses declarations that contradict each other: the same route or operation id twice, etc. */
export function checkRoutes(routes: readonly Route[]): void {
  const seen = new Set<string>()
  for (const route of routes) {
    for (const key of [`${route.method} ${route.url}`, `operationId ${route.operationId}`]) {
      if (seen.has(key)) throw new TypeError(`routes: ${key} is declared twice`)
      seen.add(key)
    }
    const declared = route.params
      ? Object.keys((route.params as unknown as { shape: object }).shape).sort()
      : []
    if (declared.join() !== urlParams(route.url).sort().join())
      throw new TypeError(`${route.url}: params must declare exactly ${urlParams(route.url)}`)
    if (route.role === 'public' && route.url.startsWith('/v1'))
      throw new TypeError(`${route.url}: a /v1 route must name the role it needs`)
  }
}

/** The directory of the route modules, and the extension its modules have here (.ts or .js). */
const ROUTES_DIR = new URL('./routes/', import.meta.url)
const EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js'

/**
 * The routes of the modules in `dir` with `extension`, in file name order: each module's `routes`
 * export. A module there without one is an error (helpers live outside routes/; after an old
 * build, a file left in dist/ by a module since moved or deleted: `npm run build` empties dist/).
 */
export async function loadRouteModules(dir: URL, extension: string): Promise<Route[]> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(extension) && !f.endsWith(`.d${extension}`))
    .sort()
  const routes: Route[] = []
  for (const file of files) {
    const module = (await import(new URL(file, dir).href)) as { routes?: unknown }
    if (!Array.isArray(module.routes))
      throw new TypeError(
        `${fileURLToPath(new URL(file, dir))}: a route module exports no \`routes\``,
      )
    routes.push(...(module.routes as Route[]))
  }
  checkRoutes(routes)
  return routes
}

let loaded: Promise<readonly Route[]> | undefined

/** Every route of the API: those of the modules in routes/ (loaded once). */
export function loadRoutes(): Promise<readonly Route[]> {
  return (loaded ??= loadRouteModules(ROUTES_DIR, EXTENSION))
}
