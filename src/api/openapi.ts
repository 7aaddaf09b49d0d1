/**
 * The API's OpenAPI 3.1 document, generated from the same zod schemas the routes validate with;
 * served at /docs and committed as schemas/openapi.json (a test fails when it is stale).
 */
import { z } from 'zod'
import { AuditEventSchema } from '../events/schema.js'
import { WindowQuery } from './routes/catalog.js'
import { SearchQuery } from './routes/events.js'
import { NewException } from './routes/exceptions.js'
import { ListQuery, Triage } from './routes/findings.js'

type Schema = Record<string, unknown>

const json = (schema: z.ZodType): Schema => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  }) as Schema
  return rest
}

/** Query parameters from a zod object schema. */
function parameters(schema: z.ZodObject): Schema[] {
  const js = json(schema) as { properties: Record<string, Schema>; required?: string[] }
  return Object.entries(js.properties).map(([name, s]) => ({
    name,
    in: 'query',
    required: js.required?.includes(name) ?? false,
    schema: s,
  }))
}

const pathParam = (name: string, pattern: string) => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string', pattern },
})

const Error = {
  type: 'object',
  required: ['statusCode', 'code', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    message: { type: 'string' },
  },
}
const List = {
  type: 'object',
  required: ['items', 'next_cursor'],
  properties: {
    items: { type: 'array', items: { type: 'object' } },
    next_cursor: { type: ['string', 'null'] },
  },
}
const errors = Object.fromEntries(
  [
    ['400', 'invalid input'],
    ['401', 'no or invalid bearer token'],
    ['403', 'the caller lacks the role'],
    ['429', 'rate limited'],
    ['503', 'storage or transport unavailable'],
  ].map(([code, description]) => [
    code,
    {
      description,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    },
  ]),
)
const ok = (schema: Schema, description = 'OK') => ({
  200: { description, content: { 'application/json': { schema } } },
  ...errors,
})
const role = (r: string) => ({ 'x-audtrail-role': r, security: [{ bearer: [] }] })

export function openApiDocument(version: string): Schema {
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
      schemas: { Error, AuditEvent: json(AuditEventSchema) },
    },
    paths: {
      '/v1/ingest': {
        post: {
          summary: 'Ingest events (JSON array or object, or NDJSON); answers per event',
          ...role('ingest'),
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  oneOf: [
                    { $ref: '#/components/schemas/AuditEvent' },
                    { type: 'array', items: { $ref: '#/components/schemas/AuditEvent' } },
                  ],
                },
              },
              'application/x-ndjson': { schema: { type: 'string' } },
            },
          },
          responses: ok({ type: 'object', required: ['accepted', 'rejected', 'results'] }),
        },
      },
      '/v1/events': {
        get: {
          summary: 'Search events',
          ...role('viewer'),
          parameters: parameters(SearchQuery),
          responses: ok(List),
        },
      },
      '/v1/tokens/{key}': {
        get: {
          summary: 'One token: issuance, presentations, resources, findings',
          ...role('viewer'),
          parameters: [pathParam('key', '^[A-Za-z0-9._:~-]{1,256}$')],
          responses: {
            ...ok({ type: 'object' }),
            404: { description: 'no events for this token' },
          },
        },
      },
      '/v1/findings': {
        get: {
          summary: 'List findings',
          ...role('viewer'),
          parameters: parameters(ListQuery),
          responses: ok(List),
        },
      },
      '/v1/findings/{id}': {
        get: {
          summary: 'One finding',
          ...role('viewer'),
          parameters: [pathParam('id', '^[0-9a-f]{32}$')],
          responses: { ...ok({ type: 'object' }), 404: { description: 'no such finding' } },
        },
        patch: {
          summary: 'Triage a finding',
          ...role('analyst'),
          parameters: [pathParam('id', '^[0-9a-f]{32}$')],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: json(Triage) } },
          },
          responses: { ...ok({ type: 'object' }), 404: { description: 'no such finding' } },
        },
      },
      '/v1/resources': {
        get: {
          summary: 'Resource inventory with raw variants and drift',
          ...role('viewer'),
          parameters: parameters(WindowQuery),
          responses: ok(List),
        },
      },
      '/v1/clients': {
        get: {
          summary: 'Per-client usage',
          ...role('viewer'),
          parameters: parameters(WindowQuery),
          responses: ok(List),
        },
      },
      '/v1/rules': {
        get: { summary: 'The rule catalog with mappings', ...role('viewer'), responses: ok(List) },
      },
      '/v1/exceptions': {
        get: { summary: 'Exceptions of the tenant', ...role('admin'), responses: ok(List) },
        post: {
          summary: 'Create a scoped, owned, expiring exception',
          ...role('admin'),
          requestBody: {
            required: true,
            content: { 'application/json': { schema: json(NewException) } },
          },
          responses: {
            201: {
              description: 'created',
              content: { 'application/json': { schema: { type: 'object' } } },
            },
            ...errors,
          },
        },
      },
      '/v1/exceptions/{id}': {
        delete: {
          summary: 'Withdraw an exception',
          ...role('admin'),
          parameters: [pathParam('id', '^[0-9a-f-]{36}$')],
          responses: {
            204: { description: 'deleted' },
            404: { description: 'no such exception' },
            ...errors,
          },
        },
      },
      '/healthz': { get: { summary: 'Liveness', responses: { 200: { description: 'alive' } } } },
      '/readyz': {
        get: {
          summary: 'Readiness: storage and transport reachable',
          responses: { 200: { description: 'ready' }, 503: { description: 'not ready' } },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: { 200: { description: 'text exposition format' } },
        },
      },
    },
  }
}

export function renderOpenApiFile(version: string): string {
  return JSON.stringify(openApiDocument(version), null, 2) + '\n'
}
