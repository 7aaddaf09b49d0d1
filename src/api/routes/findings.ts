/**
 * Findings for analysts: list (filters, keyset cursor) and one finding; triage (PATCH, bulk) is in
 * triage.ts, exports in findings-export.ts. Every query is bound to the caller's tenant; every
 * filter is validated before it reaches SQL.
 */
import { z } from 'zod'
import { TRIAGE_STATUSES } from '../../detection/findings-store.js'
import { SEVERITIES } from '../../detection/rule.js'
import { fromDateTime64 } from '../../events/event-row.js'
import type { FindingListRow, Repositories } from '../../storage/repositories.js'
import { ApiError } from '../errors.js'
import { withTriageFields, withTriageHistory } from '../finding-triage.js'
import { decodeCursor, encodeCursor, TenantParam, tenantOf } from '../params.js'
import { defineRoute } from '../route.js'
import { FindingListSchema, FindingSchema } from '../schemas/finding.js'

export const ListQuery = z.strictObject({
  rule: z
    .string()
    .regex(/^[a-z0-9-]{1,64}$/)
    .optional(),
  severity: z.enum(SEVERITIES).optional(),
  status: z.enum(TRIAGE_STATUSES).optional(),
  resource: z.string().min(1).max(2048).optional(),
  client: z.string().min(1).max(256).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(512).optional(),
  tenant: TenantParam,
})

/** A row as the API answers it: ISO timestamps, evidence and mappings as JSON. */
export function presentFinding(r: FindingListRow) {
  return {
    ...r,
    first_seen: fromDateTime64(r.first_seen),
    last_seen: fromDateTime64(r.last_seen),
    evidence: JSON.parse(r.evidence) as Record<string, unknown>,
    mappings: JSON.parse(r.mappings) as Record<string, unknown>,
  }
}

/** Findings of `tenant` by `filters` (one finding by `id`), newest first. */
export function query(
  storage: Pick<Repositories, 'findings'>,
  tenant: string,
  filters: Partial<z.output<typeof ListQuery>> & { id?: string },
): Promise<FindingListRow[]> {
  const after = decodeCursor(filters.cursor, /^[0-9a-f]{32}$/)
  return storage.findings.list({
    tenant,
    id: filters.id,
    rule: filters.rule,
    severity: filters.severity,
    status: filters.status,
    resource: filters.resource,
    client: filters.client,
    since: filters.since ? Date.parse(filters.since) : undefined,
    until: filters.until ? Date.parse(filters.until) : undefined,
    after: after && { seen: after[0], id: after[1] },
    limit: filters.limit,
  })
}

export const FindingId = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{32}$/, 'not a finding id'),
})

export const routes = [
  defineRoute({
    method: 'GET',
    url: '/v1/findings',
    operationId: 'listFindings',
    summary: 'List findings',
    role: 'viewer',
    serves: 'queries',
    query: ListQuery,
    responses: { 200: FindingListSchema },
    links: {
      200: {
        FirstFinding: { operationId: 'getFinding', parameter: 'id', pointer: 'items/0/id' },
        TriageFirstFinding: {
          operationId: 'triageFinding',
          parameter: 'id',
          pointer: 'items/0/id',
        },
      },
    },
    handler: async ({ caller, query: q, deps }) => {
      const tenant = tenantOf(caller, q.tenant)
      const rows = await query(deps.storage, tenant, q)
      return {
        items: await withTriageFields(deps.storage, tenant, rows.map(presentFinding)),
        next_cursor:
          rows.length === q.limit
            ? encodeCursor(rows[rows.length - 1]!.last_seen, rows[rows.length - 1]!.id)
            : null,
      }
    },
  }),

  defineRoute({
    method: 'GET',
    url: '/v1/findings/:id',
    operationId: 'getFinding',
    summary: 'One finding',
    role: 'viewer',
    serves: 'queries',
    params: FindingId,
    responses: { 200: FindingSchema },
    errors: { 404: 'no such finding' },
    links: {
      200: {
        TokenOfFinding: {
          operationId: 'getTokenTimeline',
          parameter: 'key',
          pointer: 'keys/token_key',
        },
      },
    },
    handler: async ({ caller, params, deps }) => {
      const [row] = await query(deps.storage, tenantOf(caller), { id: params.id })
      if (!row) throw new ApiError(404, 'ERR_NOT_FOUND', 'no such finding')
      return withTriageHistory(deps.storage, tenantOf(caller), presentFinding(row))
    },
  }),
]
