/** Events search and the token timeline: the raw evidence behind every finding, tenant-bound. */
import { z } from 'zod'
import { canonicalizeResource } from '../../events/resource.js'
import { DECISIONS, EVENT_TYPES, LIMITS } from '../../events/schema.js'
import { fromDateTime64, fromEventRow, type StoredEvent } from '../../events/event-row.js'
import { TOKEN_EVENTS_LIMIT } from '../../storage/repositories.js'
import { ApiError } from '../errors.js'
import { decodeCursor, encodeCursor, TenantParam, tenantOf, TokenKeyParam } from '../params.js'
import { defineRoute } from '../route.js'
import { EventListSchema, TokenTimelineSchema } from '../schemas/event.js'
import { withTriageFields } from '../finding-triage.js'
import { presentFinding } from './findings.js'

export const SearchQuery = z.strictObject({
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  type: z.enum(EVENT_TYPES).optional(),
  client: z.string().min(1).max(256).optional(),
  subject: z.string().min(1).max(256).optional(),
  resource: z.string().min(1).max(2048).optional(),
  token: TokenKeyParam.optional(),
  decision: z.enum(DECISIONS).optional(),
  tool: z.string().min(1).max(256).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(512).optional(),
  tenant: TenantParam,
})

/** Rows fetched beyond a page by the events search, for versions of an event stored twice. */
const SEARCH_SPARE = 10

/**
 * One page of the events search from up to `fetched` rows in page order: the first version of
 * each event (versions are adjacent), at most `limit` of them, and whether more may follow (more
 * distinct events than the page, or every fetched row used). A page is short only when more than
 * SEARCH_SPARE of its rows were repeats; its cursor still resumes after its last event.
 */
export function searchPage<T extends { event_id: string }>(
  rows: readonly T[],
  limit: number,
  fetched: number,
): { page: T[]; more: boolean } {
  const page: T[] = []
  const seen = new Set<string>()
  for (const row of rows) {
    if (seen.has(row.event_id)) continue
    if (page.length === limit) return { page, more: true }
    seen.add(row.event_id)
    page.push(row)
  }
  return { page, more: rows.length >= fetched }
}

/** The contract event plus what the pipeline derived, as analysts see it. */
function present(row: StoredEvent) {
  return {
    event: fromEventRow(row),
    received_at: fromDateTime64(row.received_at),
    token_key: row.token_key || null,
    resource_canonical: row.resource_canonical || null,
    aud_match: row.aud_match || null,
  }
}

/** The most findings the token timeline shows. */
const TIMELINE_FINDINGS = 1000

/**
 * A token key in a path: the strings TokenKeyParam takes (1 to LIMITS.id code units, no control
 * characters), as one pattern the OpenAPI document shows.
 */
const TokenKeyPath = z.strictObject({
  key: z
    .string()
    .regex(
      new RegExp(`^[^\\u0000-\\u001f\\u007f]{1,${LIMITS.id}}$`),
      'not a token key (jti or fingerprint)',
    ),
})

export const routes = [
  defineRoute({
    method: 'GET',
    url: '/v1/events',
    operationId: 'searchEvents',
    summary: 'Search events',
    role: 'viewer',
    serves: 'queries',
    query: SearchQuery,
    responses: { 200: EventListSchema },
    links: {
      200: {
        TokenOfFirstEvent: {
          operationId: 'getTokenTimeline',
          parameter: 'key',
          pointer: 'items/0/token_key',
        },
      },
    },
    handler: async ({ caller, query: q, deps: { storage } }) => {
      const after = decodeCursor(q.cursor, /^[0-9a-f-]{36}$/)
      const fetch = q.limit + SEARCH_SPARE
      const rows = await storage.events.search({
        tenant: tenantOf(caller, q.tenant),
        since: q.since ? Date.parse(q.since) : undefined,
        until: q.until ? Date.parse(q.until) : undefined,
        type: q.type,
        client: q.client,
        subject: q.subject,
        // A resource filter matches its canonical form, whatever spelling the analyst typed.
        resource: q.resource ? canonicalizeResource(q.resource).canonical || undefined : undefined,
        token: q.token,
        decision: q.decision,
        tool: q.tool,
        after: after && { at: after[0], id: after[1] },
        fetch,
      })
      const { page, more } = searchPage(rows, q.limit, fetch)
      const last = page[page.length - 1]
      return {
        items: page.map(present),
        next_cursor: more && last ? encodeCursor(last.occurred_at, last.event_id) : null,
      }
    },
  }),

  defineRoute({
    method: 'GET',
    url: '/v1/tokens/:key',
    operationId: 'getTokenTimeline',
    summary: 'One token: issuance, presentations, resources, findings, delegation chain',
    role: 'viewer',
    serves: 'queries',
    params: TokenKeyPath,
    responses: { 200: TokenTimelineSchema },
    errors: { 404: 'no events for this token' },
    handler: async ({ request, caller, params: { key }, deps: { storage } }) => {
      const tenant = tenantOf(caller, (request.query as { tenant?: string }).tenant)
      // Both at once, on two of the embedded engine's connections (or two server requests).
      const [rows, hasFindings] = await Promise.all([
        storage.events.ofToken(tenant, key),
        storage.findings.tokenHasFindings(tenant, key),
      ])
      if (rows.length === 0) throw new ApiError(404, 'ERR_NOT_FOUND', 'no events for this token')
      // The chain is walked only when the token has an exchange: the first level of the walk
      // reads the exchanges that issued the token or took it as subject, which the token's
      // events hold already (unless they filled token-events' limit).
      const exchanged =
        rows.length >= TOKEN_EVENTS_LIMIT || rows.some((r) => r.event_type === 'token.exchanged')
      const [findings, delegation] = await Promise.all([
        hasFindings ? storage.findings.list({ tenant, token: key, limit: TIMELINE_FINDINGS }) : [],
        exchanged ? storage.events.delegationChain(tenant, key) : undefined,
      ])
      const own = rows.filter((r) => r.token_key === key)
      return {
        token_key: key,
        issuance: own
          .filter((r) => r.event_type === 'token.issued' || r.event_type === 'token.exchanged')
          .map(present),
        presentations: own.filter((r) => r.event_type === 'token.presented').map(present),
        exchanged_into: rows
          .filter((r) => r.subject_token_key === key && r.token_key !== key)
          .map(present),
        resources: [...new Set(own.map((r) => r.resource_canonical).filter((r) => r !== ''))],
        findings: await withTriageFields(storage, tenant, findings.map(presentFinding)),
        delegation: {
          ancestors: delegation?.ancestors ?? [],
          descendants: delegation?.descendants ?? [],
          truncated: delegation?.truncated ?? false,
        },
      }
    },
  }),
]
