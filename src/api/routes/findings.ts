/**
 * Findings for analysts: list (filters, keyset cursor) and one finding; triage (PATCH, bulk) is in
 * triage.ts, exports in findings-export.ts. Every query is bound to the caller's tenant; every
 * filter is validated before it reaches SQL.
 */
import { z } from 'zod'
import { TRIAGE_STATUSES } from '../../detection/findings-store.js'
import { SEVERITIES } from '../../detection/rule.js'
import { canonicalizeResource } from '../../events/resource.js'
import {
  FINDING_SORT_FIELDS,
  findingSortKey,
  type FindingListRow,
  type FindingSort,
  type FindingSortField,
  type FindingSortKey,
  type FindingsQuery,
  type FindingsTotal,
  type Repositories,
} from '../../storage/repositories.js'
import { rfc3339, rfc3339Deep } from '../../events/time.js'
import { ApiError } from '../errors.js'
import {
  exceptionLookup,
  latestTriageOf,
  withTriageFields,
  withTriageHistory,
} from '../finding-triage.js'
import { findingLinks, findingToken } from '../../detection/links.js'
import {
  decodeSortCursor,
  encodeSortCursor,
  listParam,
  oneOf,
  TenantParam,
  tenantOf,
  TimeParam,
  timeMs,
  TokenKeyParam,
} from '../params.js'
import { defineRoute } from '../route.js'
import { FindingListSchema, FindingSchema } from '../schemas/finding.js'

/** The sorts of the list: a field, descending with a leading `-`. */
export const FINDING_SORTS = FINDING_SORT_FIELDS.flatMap((f) => [`-${f}`, f])

export const ListQuery = z.strictObject({
  rule: listParam('[a-z0-9-]{1,64}', 'rule ids').optional(),
  severity: listParam(oneOf(SEVERITIES), `severities (${SEVERITIES.join(', ')})`).optional(),
  status: listParam(oneOf(TRIAGE_STATUSES), `statuses (${TRIAGE_STATUSES.join(', ')})`).optional(),
  resource: z
    .string()
    .min(1)
    .max(2048)
    .optional()
    .describe('a resource in any spelling: matched by its canonical form (RFC 8707, RFC 3986)'),
  client: z.string().min(1).max(256).optional(),
  token: TokenKeyParam.optional().describe(
    'a token key: findings keyed on it or whose evidence names it',
  ),
  q: z
    .string()
    .min(1)
    .max(256)
    .optional()
    .describe('text in the client, resource, token key, rule id or title (case-insensitive)'),
  since: TimeParam.optional().describe('last_seen from (inclusive); RFC 3339 or YYYY-MM-DD'),
  until: TimeParam.optional().describe('last_seen until (exclusive); RFC 3339 or YYYY-MM-DD'),
  sort: z
    .enum(FINDING_SORTS as [string, ...string[]])
    .default('-last_seen')
    .describe(
      '-last_seen (default), last_seen, -first_seen, first_seen, -severity, severity, -count, count; ties: last_seen in the same direction, then the finding id',
    ),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(512).optional(),
  tenant: TenantParam,
})

/** A row as the API answers it: RFC 3339 times (evidence too), JSON as objects, links. */
export function presentFinding(row: FindingListRow, publicUrl?: string) {
  // The triage's author and time are answered as updated_by/updated_at (finding-triage.ts).
  const { triaged_by: _by, triaged_at: _at, ...r } = row
  const evidence = rfc3339Deep(JSON.parse(r.evidence)) as Record<string, unknown>
  return {
    ...r,
    first_seen: rfc3339(r.first_seen),
    last_seen: rfc3339(r.last_seen),
    evidence,
    mappings: JSON.parse(r.mappings) as Record<string, unknown>,
    links: findingLinks(
      { id: r.id, rule_id: r.rule_id, token: findingToken(r.keys, evidence) },
      publicUrl,
    ),
  }
}

/** The list's sort from its `sort` parameter. */
export function findingSort(sort: string): FindingSort {
  const descending = sort.startsWith('-')
  return { field: (descending ? sort.slice(1) : sort) as FindingSortField, descending }
}

/** The spellings a resource filter matches: its canonical form, and the text as typed. */
export function resourceSpellings(resource: string | undefined): string[] | undefined {
  if (resource === undefined) return undefined
  const { canonical } = canonicalizeResource(resource)
  return [...new Set([canonical, resource].filter((r) => r !== ''))]
}

/**
 * The repository query of a list query (the list, its total, and for other branches the same
 * filters: bulk triage, exports). The cursor is not read here.
 */
export function findingsQuery(tenant: string, q: FindingFilter): FindingsQuery {
  return {
    tenant,
    rules: q.rule,
    severities: q.severity,
    statuses: q.status,
    resources: resourceSpellings(q.resource),
    client: q.client,
    token: q.token,
    tokenInEvidence: q.token !== undefined,
    text: q.q,
    since: timeMs(q.since),
    until: timeMs(q.until),
    sort: findingSort(q.sort ?? '-last_seen'),
  }
}

const FINDING_ID = /^[0-9a-f]{32}$/

/** One finding of `tenant` by id (none or one row). */
export function findingById(storage: Pick<Repositories, 'findings'>, tenant: string, id: string) {
  return storage.findings.list({ tenant, id, limit: 1 })
}

/** The list filters (the list query without its paging). */
export type FindingFilter = Partial<Omit<z.output<typeof ListQuery>, 'tenant' | 'cursor' | 'limit'>>

/**
 * One page of the findings of `tenant` that `filter` matches, in the filter's sort, and the cursor
 * of the next page (null on the last). The list, bulk triage and the exports page with it. With
 * `total` (the list's, or how to get it from the page's rows) the next cursor carries it.
 */
export async function findingsPage(
  storage: Pick<Repositories, 'findings'>,
  tenant: string,
  filter: FindingFilter,
  limit: number,
  cursor?: string,
  total?: FindingsTotal | ((rows: readonly FindingListRow[]) => Promise<FindingsTotal>),
) {
  const query = findingsQuery(tenant, filter)
  const sort = filter.sort ?? '-last_seen'
  const at = decodeSortCursor(cursor, sort, FINDING_ID)
  const after: FindingSortKey | undefined = at && { k1: at.k1, k2: at.k2, id: at.id }
  const rows = await storage.findings.list({ ...query, cursor: after, limit })
  const last = rows[rows.length - 1]
  const counted = typeof total === 'function' ? await total(rows) : total
  const next =
    rows.length === limit && last
      ? encodeSortCursor(sort, findingSortKey(last, query.sort), counted)
      : null
  return { rows, next, total: counted }
}

/**
 * The list's `total`: carried by the cursor of a later page (counted on the first page); on a
 * first page that is not full, the rows of the page (nothing else matches); else counted.
 */
export function listTotal(
  storage: Pick<Repositories, 'findings'>,
  tenant: string,
  filter: FindingFilter,
  limit: number,
  cursor: string | undefined,
) {
  const carried = decodeSortCursor(cursor, filter.sort ?? '-last_seen', FINDING_ID)?.total
  return async (rows: readonly FindingListRow[]): Promise<FindingsTotal> => {
    if (carried) return carried
    if (cursor === undefined && rows.length < limit) return { value: rows.length, exact: true }
    return storage.findings.count(findingsQuery(tenant, filter))
  }
}

export const FindingId = z.strictObject({
  id: z.string().regex(FINDING_ID, 'not a finding id'),
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
      // The exceptions are read beside the page (awaited with it below; a failure of the page
      // is the one answered).
      const covering = exceptionLookup(deps.storage, tenant)
      covering.catch(() => {})
      // The total is counted once, after the first page (and not when the page holds every
      // match); later pages carry it in their cursor.
      const { rows, next, total } = await findingsPage(
        deps.storage,
        tenant,
        q,
        q.limit,
        q.cursor,
        listTotal(deps.storage, tenant, q, q.limit, q.cursor),
      )
      return {
        items: await withTriageFields(
          deps.storage,
          tenant,
          rows.map((r) => presentFinding(r, deps.publicUrl)),
          { latest: latestTriageOf(rows), covering },
        ),
        next_cursor: next,
        total,
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
      const [row] = await findingById(deps.storage, tenantOf(caller), params.id)
      if (!row) throw new ApiError(404, 'ERR_NOT_FOUND', 'no such finding')
      return withTriageHistory(deps.storage, tenantOf(caller), presentFinding(row, deps.publicUrl))
    },
  }),
]
