/** The rule catalog, the resource inventory and per-client usage, for analysts (tenant-bound). */
import { z } from 'zod'
import { RULES } from '../../detection/rules/index.js'
import { rfc3339 } from '../../events/time.js'
import {
  decodeKeyCursor,
  encodeKeyCursor,
  TenantParam,
  tenantOf,
  TimeParam,
  timeMs,
} from '../params.js'
import { defineRoute } from '../route.js'
import { ClientListSchema, ResourceListSchema, RuleListSchema } from '../schemas/catalog.js'

/**
 * /v1/resources pages through resources in drift-key order with an opaque cursor (the last drift
 * key of the page): 1 000 by default, at most 5 000 a page. (It answered one page with
 * `next_cursor: null` whatever the limit cut off: a tenant with more resources than the limit
 * silently saw only the first ones.)
 */
export const ResourceQuery = z.strictObject({
  since: TimeParam.optional().describe(
    'from the UTC day of this time (default: 30 days ago); RFC 3339 or YYYY-MM-DD',
  ),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
  cursor: z.string().max(1024).optional(),
  tenant: TenantParam,
})

/**
 * /v1/clients pages through clients in client_id order with an opaque cursor (the last client of
 * the page): 50 by default, at most 500 a page (as the findings list).
 */
export const ClientQuery = z.strictObject({
  since: ResourceQuery.shape.since,
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(1024).optional(),
  tenant: TenantParam,
})

const DAY_MS = 86_400_000
/** The start of the window (ms): `since`, or 30 days ago. */
const windowStart = (since: string | undefined) => timeMs(since) ?? Date.now() - 30 * DAY_MS

/** The catalog as data: metadata and parameter defaults, never the logic. */
export function ruleCatalog() {
  return RULES.map((r) => ({
    id: r.id,
    title: r.title,
    kind: r.kind,
    severity: r.severity,
    description: r.description,
    rationale: r.rationale,
    references: r.references,
    mappings: r.mappings,
    false_positives: r.falsePositives,
    runbook: r.runbook,
    parameters: r.params.parse({}) as Record<string, unknown>,
    dedup_key: r.dedupKey,
    dedup_window_s: r.dedupWindowS,
  }))
}

let catalog: ReturnType<typeof ruleCatalog> | undefined
/** The catalog, built once. */
export const catalogEntries = () => (catalog ??= ruleCatalog())

export const routes = [
  defineRoute({
    method: 'GET',
    url: '/v1/rules',
    operationId: 'listRules',
    summary: 'The rule catalog with mappings',
    role: 'viewer',
    serves: 'queries',
    responses: { 200: RuleListSchema },
    handler: async () => ({ items: catalogEntries(), next_cursor: null }),
  }),

  defineRoute({
    method: 'GET',
    url: '/v1/resources',
    operationId: 'listResources',
    summary: 'Resource inventory with raw variants and drift, a page at a time',
    role: 'viewer',
    serves: 'queries',
    query: ResourceQuery,
    responses: { 200: ResourceListSchema },
    handler: async ({ caller, query: q, deps: { storage } }) => {
      const fetched = await storage.catalog.resources({
        tenant: tenantOf(caller, q.tenant),
        since: windowStart(q.since),
        after: decodeKeyCursor(q.cursor),
        limit: q.limit + 1,
      })
      const page = fetched.slice(0, q.limit)
      return {
        items: page.map((r) => ({
          ...r,
          first_seen: rfc3339(r.first_seen),
          last_seen: rfc3339(r.last_seen),
          variants: r.variants.map(([raw, role, events]) => ({
            raw,
            role,
            events,
          })),
        })),
        next_cursor:
          fetched.length > q.limit ? encodeKeyCursor(page[page.length - 1]!.drift_key) : null,
      }
    },
  }),

  defineRoute({
    method: 'GET',
    url: '/v1/clients',
    operationId: 'listClients',
    summary: 'Per-client usage, with the findings about each client, a page at a time',
    role: 'viewer',
    serves: 'queries',
    query: ClientQuery,
    responses: { 200: ClientListSchema },
    handler: async ({ caller, query: q, deps: { storage } }) => {
      const tenant = tenantOf(caller, q.tenant)
      const since = windowStart(q.since)
      const fetched = await storage.catalog.clients({
        tenant,
        since,
        after: decodeKeyCursor(q.cursor),
        limit: q.limit + 1,
      })
      const page = fetched.slice(0, q.limit)
      const findings = new Map(
        (
          await storage.catalog.clientFindings(
            tenant,
            since,
            page.map((r) => r.client_id),
          )
        ).map((f) => [f.client_id, f]),
      )
      return {
        items: page.map((r) => ({
          ...r,
          findings: Number(findings.get(r.client_id)?.findings ?? 0),
          open_findings: Number(findings.get(r.client_id)?.open_findings ?? 0),
          first_seen: rfc3339(r.first_seen),
          last_seen: rfc3339(r.last_seen),
        })),
        next_cursor:
          fetched.length > q.limit ? encodeKeyCursor(page[page.length - 1]!.client_id) : null,
      }
    },
  }),
]
