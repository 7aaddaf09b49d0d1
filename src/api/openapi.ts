/**
 * The API's OpenAPI 3.1 document, generated from the route declarations (route.ts): paths,
 * roles, parameters, bodies and responses come from the same zod schemas the routes validate and
 * serialize with. Served at /docs and committed as schemas/openapi.json (a test fails when it is
 * stale; `npm run schemas` writes it).
 */
import type { z } from 'zod'
import { AuditEventSchema } from '../events/schema.js'
import { ErrorSchema } from './errors.js'
import { isZod, jsonBodyOf, loadRoutes, urlParams, type ResponseSpec, type Route } from './route.js'
import {
  COMPONENTS,
  componentRef,
  requestJsonSchema,
  responseJsonSchema,
  type JsonSchema,
} from './schemas/json-schema.js'

type Schema = Record<string, unknown>

const json = requestJsonSchema
const errorContent = { 'application/json': { schema: componentRef('Error') } }

/** The errors every authenticated route may answer. */
const COMMON_ERRORS: Record<number, string> = {
  400: 'invalid input',
  401: 'no or invalid bearer token',
  403: 'the caller lacks the role',
  429: 'rate limited',
  431: 'request line and headers over 16 KiB',
  503: 'storage or transport unavailable',
}

/** Parameters `in` the path or the query, from a zod object schema. */
function parameters(schema: z.ZodType, where: 'path' | 'query'): Schema[] {
  const js = json(schema) as { properties: Record<string, Schema>; required?: string[] }
  return Object.entries(js.properties).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (js.required?.includes(name) ?? false),
    schema: s,
  }))
}

/** The document's components: the response bodies it names, found as they are referred to. */
class Components {
  readonly #used = new Map<string, z.ZodType>()
  readonly names = (schema: z.ZodType): string | undefined => {
    const name = COMPONENTS.get(schema)?.component
    if (name === undefined) return undefined
    const other = this.#used.get(name)
    if (other && other !== schema) throw new TypeError(`two schemas are named ${name}`)
    this.#used.set(name, schema)
    return name
  }

  /** A response body: a reference to its component, else inline (nested components referred to). */
  body(schema: z.ZodType): JsonSchema {
    const name = this.names(schema)
    return name ? componentRef(name) : responseJsonSchema(schema, 'openapi', this.names)
  }

  /** Every component referred to, and those they refer to, by name. */
  schemas(): Record<string, JsonSchema> {
    const out: Record<string, JsonSchema> = {}
    for (let done = 0; done !== this.#used.size;) {
      done = this.#used.size
      for (const [name, schema] of [...this.#used])
        out[name] ??= responseJsonSchema(schema, 'openapi', this.names)
    }
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)))
  }
}

function response(spec: ResponseSpec, components: Components): Schema {
  const declared = spec === null || isZod(spec) ? undefined : spec
  const schema = jsonBodyOf(spec)
  const content = {
    ...(schema && { 'application/json': { schema: components.body(schema) } }),
    ...Object.fromEntries(
      Object.entries(declared?.content ?? {}).map(([type, schema]) => [type, { schema }]),
    ),
  }
  const description = declared?.description ?? 'OK'
  return Object.keys(content).length > 0 ? { description, content } : { description }
}

function operation(route: Route, components: Components): Schema {
  const responses: Record<string, Schema> = {}
  for (const [status, spec] of Object.entries(route.responses)) {
    const links = route.links?.[Number(status)]
    responses[status] = {
      ...response(spec, components),
      ...(links && {
        links: Object.fromEntries(
          Object.entries(links).map(([name, link]) => [
            name,
            {
              operationId: link.operationId,
              parameters: { [link.parameter]: `$response.body#/${link.pointer}` },
            },
          ]),
        ),
      }),
    }
  }
  const errors = { ...(route.role === 'public' ? {} : COMMON_ERRORS), ...route.errors }
  for (const [status, description] of Object.entries(errors))
    responses[status] = { description, content: errorContent }
  const parameterList = [
    ...(route.params ? parameters(route.params, 'path') : []),
    ...(route.query ? parameters(route.query, 'query') : []),
  ]
  const content = route.rawBody
    ? Object.fromEntries(Object.entries(route.rawBody).map(([type, schema]) => [type, { schema }]))
    : route.body && { 'application/json': { schema: json(route.body) } }
  return {
    summary: route.summary,
    ...(route.role !== 'public' && {
      'x-audtrail-role': route.role,
      security: [{ bearer: [] }],
    }),
    ...(parameterList.length > 0 && { parameters: parameterList }),
    ...(content && { requestBody: { required: true, content } }),
    responses,
    operationId: route.operationId,
  }
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete']
/** `/v1/findings/:id` as the document writes it: `/v1/findings/{id}`. */
const documentPath = (url: string) =>
  urlParams(url).reduce((path, name) => path.replace(`:${name}`, `{${name}}`), url)

export function openApiDocument(version: string, routes: readonly Route[]): Schema {
  const components = new Components()
  const operationIds = new Set(routes.map((r) => r.operationId))
  const paths: Record<string, Record<string, Schema>> = {}
  const sorted = [...routes].sort(
    (a, b) =>
      documentPath(a.url).localeCompare(documentPath(b.url)) ||
      METHODS.indexOf(a.method.toLowerCase()) - METHODS.indexOf(b.method.toLowerCase()),
  )
  for (const route of sorted) {
    for (const links of Object.values(route.links ?? {}))
      for (const [name, link] of Object.entries(links))
        if (!operationIds.has(link.operationId))
          throw new TypeError(`${route.operationId}: link ${name} to no operation`)
    ;(paths[documentPath(route.url)] ??= {})[route.method.toLowerCase()] = operation(
      route,
      components,
    )
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'audtrail API',
      version,
      description:
        'Audit-log pipeline and token-usage anomaly detector for OAuth 2.0 access tokens. Every ' +
        "query is bound to the caller's audtrail_tenant claim; roles come from audtrail_roles.",
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        Error: responseJsonSchema(ErrorSchema, 'openapi'),
        AuditEvent: json(AuditEventSchema),
        ...components.schemas(),
      },
    },
    paths,
  }
}

/** schemas/openapi.json: the document of every route module. */
export async function renderOpenApiFile(version: string): Promise<string> {
  return JSON.stringify(openApiDocument(version, await loadRoutes()), null, 2) + '\n'
}
