/** The rule catalog, the resource inventory and per-client usage, for analysts (tenant-bound). */
import type { FastifyPluginAsync } from 'fastify'
import { z } from 'zod'
import { RULES } from '../../detection/rules/index.js'
import { mapStorageError } from '../../storage/errors.js'
import { fromDateTime64, toDateTime64 } from '../../storage/event-row.js'
import { loadQuery } from '../../storage/sql.js'
import { requireRole } from '../auth.js'
import { ClientListSchema, ResourceListSchema, RuleListSchema } from '../schemas/catalog.js'
import { badRequest, responses, TenantParam, tenantOf, type QueryDeps } from './common.js'

export const WindowQuery = z.strictObject({
  since: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
  tenant: TenantParam,
})

const DAY_MS = 86_400_000

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

export const catalogRoutes: FastifyPluginAsync<QueryDeps> = async (
  app,
  { storage, authenticate },
) => {
  const catalog = ruleCatalog()

  app.get(
    '/rules',
    { schema: { response: responses({ 200: RuleListSchema }) } },
    async (request) => {
      requireRole(await authenticate(request.headers.authorization), 'viewer')
      return { items: catalog, next_cursor: null }
    },
  )

  async function windowed(
    name: 'resource-inventory' | 'client-usage',
    request: { headers: { authorization?: string }; query: unknown },
  ) {
    const caller = await authenticate(request.headers.authorization)
    requireRole(caller, 'viewer')
    const parsed = WindowQuery.safeParse(request.query)
    if (!parsed.success) throw badRequest(parsed.error)
    try {
      const rs = await storage.client.query({
        query: loadQuery(name, storage.database),
        query_params: {
          tenant: tenantOf(caller, parsed.data.tenant),
          since: toDateTime64(
            parsed.data.since ? Date.parse(parsed.data.since) : Date.now() - 30 * DAY_MS,
          ),
          limit: parsed.data.limit,
        },
        format: 'JSONEachRow',
      })
      return await rs.json<Record<string, unknown> & { first_seen: string; last_seen: string }>()
    } catch (err) {
      throw mapStorageError(err, name)
    }
  }

  app.get(
    '/resources',
    { schema: { response: responses({ 200: ResourceListSchema }) } },
    async (request) => {
      const rows = await windowed('resource-inventory', request)
      return {
        items: rows.map((r) => ({
          ...r,
          first_seen: fromDateTime64(r.first_seen),
          last_seen: fromDateTime64(r.last_seen),
          variants: (r.variants as [string, string, number][]).map(([raw, role, events]) => ({
            raw,
            role,
            events,
          })),
        })),
        next_cursor: null,
      }
    },
  )

  app.get(
    '/clients',
    { schema: { response: responses({ 200: ClientListSchema }) } },
    async (request) => ({
      items: (await windowed('client-usage', request)).map((r) => ({
        ...r,
        first_seen: fromDateTime64(r.first_seen),
        last_seen: fromDateTime64(r.last_seen),
      })),
      next_cursor: null,
    }),
  )
}
