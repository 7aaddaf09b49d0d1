/**
 * The API's OpenAPI 3.1 document, generated from the same zod schemas the routes validate with;
 * served at /docs and committed as schemas/openapi.json (a test fails when it is stale).
 */
import type { z } from 'zod'
import { AuditEventSchema } from '../events/schema.js'
import { ClientQuery, ResourceQuery } from './routes/catalog.js'
import { SearchQuery } from './routes/events.js'
import { NewException } from './routes/exceptions.js'
import { ListQuery, Triage } from './routes/findings.js'
import { ReportQuery } from './routes/reports.js'
import { ComplianceReport } from '../reports/schema.js'
import { ErrorSchema } from './errors.js'
import {
  ClientListSchema,
  ClientRowSchema,
  ResourceListSchema,
  ResourceRowSchema,
  RuleEntrySchema,
  RuleListSchema,
} from './schemas/catalog.js'
import { EventItemSchema, EventListSchema, TokenTimelineSchema } from './schemas/event.js'
import { ExceptionListSchema, ExceptionSchema } from './schemas/exception.js'
import { FindingListSchema, FindingSchema } from './schemas/finding.js'
import { requestJsonSchema, responseJsonSchema } from './schemas/json-schema.js'
import { withOperationLinks } from './schemas/links.js'
import { HealthSchema, IngestResponseSchema, ReadinessSchema } from './schemas/service.js'

type Schema = Record<string, unknown>

const json = requestJsonSchema
/** A response body's schema, by reference to its component. */
const ref = (name: keyof typeof RESPONSES): Schema => ({ $ref: `#/components/schemas/${name}` })

/** Every response body, as a named component (the routes serialize with the same zod schemas). */
const RESPONSES = {
  EventItem: EventItemSchema,
  EventList: EventListSchema,
  TokenTimeline: TokenTimelineSchema,
  Finding: FindingSchema,
  FindingList: FindingListSchema,
  RuleEntry: RuleEntrySchema,
  RuleList: RuleListSchema,
  ResourceRow: ResourceRowSchema,
  ResourceList: ResourceListSchema,
  ClientRow: ClientRowSchema,
  ClientList: ClientListSchema,
  Exception: ExceptionSchema,
  ExceptionList: ExceptionListSchema,
  IngestResponse: IngestResponseSchema,
  Health: HealthSchema,
  Readiness: ReadinessSchema,
} satisfies Record<string, z.ZodType>

/** The components: each response body, referring to the others (list items, nested findings). */
function responseComponents(): Record<string, Schema> {
  const names = new Map<z.ZodType, string>(
    Object.entries(RESPONSES).map(([name, schema]) => [schema, name]),
  )
  return Object.fromEntries(
    Object.entries(RESPONSES).map(([name, schema]) => [
      name,
      responseJsonSchema(schema, 'openapi', names),
    ]),
  )
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

const Error = responseJsonSchema(ErrorSchema, 'openapi')
/** An error response (the error model) per status. */
const failures = (...statuses: [string, string][]) =>
  Object.fromEntries(
    statuses.map(([code, description]) => [
      code,
      {
        description,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    ]),
  )
const errors = failures(
  ['400', 'invalid input'],
  ['401', 'no or invalid bearer token'],
  ['403', 'the caller lacks the role'],
  ['429', 'rate limited'],
  ['431', 'request line and headers over 16 KiB'],
  ['503', 'storage or transport unavailable'],
)
const notFound = (description: string) => failures(['404', description])
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
      schemas: { Error, AuditEvent: json(AuditEventSchema), ...responseComponents() },
    },
    paths: withOperationLinks({
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
          responses: {
            ...ok(ref('IngestResponse')),
            ...failures(
              ['413', 'body too large or too many events'],
              ['415', 'not JSON or NDJSON'],
            ),
          },
        },
      },
      '/v1/events': {
        get: {
          summary: 'Search events',
          ...role('viewer'),
          parameters: parameters(SearchQuery),
          responses: ok(ref('EventList')),
        },
      },
      '/v1/tokens/{key}': {
        get: {
          summary: 'One token: issuance, presentations, resources, findings',
          ...role('viewer'),
          parameters: [pathParam('key', '^[^\\u0000-\\u001f\\u007f]{1,256}$')],
          responses: {
            ...ok(ref('TokenTimeline')),
            ...notFound('no events for this token'),
          },
        },
      },
      '/v1/findings': {
        get: {
          summary: 'List findings',
          ...role('viewer'),
          parameters: parameters(ListQuery),
          responses: ok(ref('FindingList')),
        },
      },
      '/v1/findings/{id}': {
        get: {
          summary: 'One finding',
          ...role('viewer'),
          parameters: [pathParam('id', '^[0-9a-f]{32}$')],
          responses: { ...ok(ref('Finding')), ...notFound('no such finding') },
        },
        patch: {
          summary: 'Triage a finding',
          ...role('analyst'),
          parameters: [pathParam('id', '^[0-9a-f]{32}$')],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: json(Triage) } },
          },
          responses: { ...ok(ref('Finding')), ...notFound('no such finding') },
        },
      },
      '/v1/resources': {
        get: {
          summary: 'Resource inventory with raw variants and drift, a page at a time',
          ...role('viewer'),
          parameters: parameters(ResourceQuery),
          responses: ok(ref('ResourceList')),
        },
      },
      '/v1/clients': {
        get: {
          summary: 'Per-client usage, with the findings about each client, a page at a time',
          ...role('viewer'),
          parameters: parameters(ClientQuery),
          responses: ok(ref('ClientList')),
        },
      },
      '/v1/rules': {
        get: {
          summary: 'The rule catalog with mappings',
          ...role('viewer'),
          responses: ok(ref('RuleList')),
        },
      },
      '/v1/exceptions': {
        get: {
          summary: 'Exceptions of the tenant',
          ...role('admin'),
          responses: ok(ref('ExceptionList')),
        },
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
              content: { 'application/json': { schema: ref('Exception') } },
            },
            ...errors,
          },
        },
      },
      '/v1/reports/compliance': {
        get: {
          summary:
            'Compliance report: controls of one framework (or all) with status, metrics, findings',
          ...role('viewer'),
          parameters: parameters(ReportQuery),
          responses: {
            200: {
              description: 'the report; csv and html come as attachments (Content-Disposition)',
              content: {
                'application/json': { schema: responseJsonSchema(ComplianceReport, 'openapi') },
                'text/csv': { schema: { type: 'string' } },
                'text/html': { schema: { type: 'string' } },
              },
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
            ...notFound('no such exception'),
            ...errors,
          },
        },
      },
      '/healthz': {
        get: {
          summary: 'Liveness',
          responses: {
            200: {
              description: 'alive',
              content: { 'application/json': { schema: ref('Health') } },
            },
          },
        },
      },
      '/readyz': {
        get: {
          summary: 'Readiness: storage and transport reachable',
          responses: {
            200: {
              description: 'ready',
              content: { 'application/json': { schema: ref('Readiness') } },
            },
            503: {
              description: 'not ready',
              content: { 'application/json': { schema: ref('Readiness') } },
            },
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: {
            200: {
              description: 'text exposition format',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
          },
        },
      },
    }),
  }
}

export function renderOpenApiFile(version: string): string {
  return JSON.stringify(openApiDocument(version), null, 2) + '\n'
}
