/** Events search and the token timeline: the raw evidence behind every finding, tenant-bound. */
import { z } from 'zod'
import { canonicalizeResource } from '../../events/resource.js'
import { DECISIONS, EVENT_TYPES, LIMITS } from '../../events/schema.js'
import { fromEventRow, type EventRow, type StoredEvent } from '../../events/event-row.js'
import { timeSpan, type EventSearch, type Repositories } from '../../storage/repositories.js'
import { rfc3339 } from '../../events/time.js'
import { ApiError } from '../errors.js'
import { eventLinks, tokenLinks } from '../../detection/links.js'
import {
  decodeCursor,
  encodeCursor,
  TenantParam,
  tenantOf,
  TimeParam,
  timeMs,
  TokenKeyParam,
} from '../params.js'
import { defineRoute } from '../route.js'
import { EventListSchema, TokenTimelineSchema } from '../schemas/event.js'
import { latestTriageOf, withTriageFields } from '../finding-triage.js'
import { presentFinding } from './findings.js'
import { summarisePresentations } from '../../storage/token-timeline.js'

export const SearchQuery = z.strictObject({
  since: TimeParam.optional().describe('occurred_at from (inclusive); RFC 3339 or YYYY-MM-DD'),
  until: TimeParam.optional().describe('occurred_at until (exclusive); RFC 3339 or YYYY-MM-DD'),
  type: z.enum(EVENT_TYPES).optional(),
  client: z.string().min(1).max(256).optional(),
  subject: z.string().min(1).max(256).optional(),
  resource: z.string().min(1).max(2048).optional(),
  token: TokenKeyParam.optional(),
  decision: z.enum(DECISIONS).optional(),
  tool: z.string().min(1).max(256).optional(),
  finding: z
    .string()
    .regex(/^[0-9a-f]{32}$/, 'not a finding id')
    .optional()
    .describe("the events of a finding's evidence (its event_ids; the other filters apply too)"),
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

/** The contract event plus what the pipeline derived, as analysts see it, with its links. */
function present(row: StoredEvent, publicUrl?: string) {
  const token_key = row.token_key || null
  return {
    event: fromEventRow(row),
    received_at: rfc3339(row.received_at),
    token_key,
    resource_canonical: row.resource_canonical || null,
    aud_match: row.aud_match || null,
    links: eventLinks({ token_key, client_id: row.client_id }, publicUrl),
  }
}

/** The most evidence events `finding=` reads. */
const FINDING_EVENTS = 100

/** Whether a stored event passes the search's filters (for the events of a finding). */
function passes(r: EventRow, s: EventSearch): boolean {
  const { since, until } = timeSpan(s)
  return (
    r.occurred_at >= since &&
    r.occurred_at < until &&
    (s.type === undefined || r.event_type === s.type) &&
    (s.client === undefined || r.client_id === s.client) &&
    (s.subject === undefined || r.subject === s.subject) &&
    (s.resource === undefined ||
      r.resource_canonical === s.resource ||
      r.granted_aud_canonical.includes(s.resource) ||
      r.requested_resources_canonical.includes(s.resource)) &&
    (s.token === undefined || r.token_key === s.token) &&
    (s.decision === undefined || r.decision === s.decision) &&
    (s.tool === undefined || r.tool_name === s.tool) &&
    (s.after === undefined ||
      r.occurred_at < s.after.at ||
      (r.occurred_at === s.after.at && r.event_id < s.after.id))
  )
}

/**
 * The events of a finding's evidence (newest first, as the search), each looked up by id: at most
 * FINDING_EVENTS. A finding of another tenant, or none, has no events.
 */
/**
 * The event ids a finding's evidence names: those of the context it carries
 * (`presentations[].event_ids`: the legitimate uses beside a replay), then its `event_ids` (what
 * the finding counts).
 */
export function evidenceEventIds(evidence: unknown): string[] {
  const strings = (v: unknown) =>
    Array.isArray(v) ? v.filter((i): i is string => typeof i === 'string') : []
  const e = (evidence ?? {}) as { event_ids?: unknown; presentations?: unknown }
  const context = Array.isArray(e.presentations)
    ? e.presentations.flatMap((p) => strings((p as { event_ids?: unknown } | null)?.event_ids))
    : []
  // The counted ids last: a cap on the lookups keeps the last ones.
  return [...new Set([...context, ...strings(e.event_ids)])]
}

async function findingEvents(
  storage: Pick<Repositories, 'findings' | 'events'>,
  search: EventSearch,
  finding: string,
): Promise<StoredEvent[]> {
  const [f] = await storage.findings.list({ tenant: search.tenant, id: finding, limit: 1 })
  if (!f) return []
  const wanted = evidenceEventIds(JSON.parse(f.evidence))
  const rows = await Promise.all(
    wanted.slice(-FINDING_EVENTS).map((id) => storage.events.byId(search.tenant, id)),
  )
  return rows
    .filter((r): r is NonNullable<typeof r> => r !== undefined && passes(r, search))
    .sort((a, b) =>
      a.occurred_at === b.occurred_at
        ? a.event_id < b.event_id
          ? 1
          : -1
        : a.occurred_at < b.occurred_at
          ? 1
          : -1,
    )
    .slice(0, search.fetch)
}

/** The most findings the token timeline shows (more: `truncated`). */
export const TIMELINE_FINDINGS = 1000
/** The most (resource, decision) groups of its summary (more: `truncated`). */
export const TIMELINE_SUMMARY = 1000
/** The most issuance and exchange events it shows (more: `truncated`). */
export const TIMELINE_LIFECYCLE = 1000

/** The token timeline's query: a page of presentations. */
export const TimelineQuery = z.strictObject({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(100)
    .describe('presentations a page (oldest first)'),
  cursor: z.string().max(512).optional(),
  tenant: TenantParam,
})

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
    handler: async ({ caller, query: q, deps: { storage, publicUrl } }) => {
      const after = decodeCursor(q.cursor, /^[0-9a-f-]{36}$/)
      const fetch = q.limit + SEARCH_SPARE
      const search: EventSearch = {
        tenant: tenantOf(caller, q.tenant),
        since: timeMs(q.since),
        until: timeMs(q.until),
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
      }
      const rows = q.finding
        ? await findingEvents(storage, search, q.finding)
        : await storage.events.search(search)
      const { page, more } = searchPage(rows, q.limit, fetch)
      const last = page[page.length - 1]
      return {
        items: page.map((r) => present(r, publicUrl)),
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
    query: TimelineQuery,
    responses: { 200: TokenTimelineSchema },
    errors: { 404: 'no events for this token' },
    handler: async ({ caller, params: { key }, query: q, deps: { storage, publicUrl } }) => {
      const tenant = tenantOf(caller, q.tenant)
      const after = decodeCursor(q.cursor, /^[0-9a-f-]{36}$/)
      // At once, on the embedded engine's connections (or as server requests).
      // The page of presentations and the lifecycle events come from one read of the token's
      // events (token-timeline-events.sql). The summary of every presentation comes from that
      // page when it holds them all (the first page, none left for a next one): most tokens;
      // for the others it is a read of its own (token-summary.sql), after the page.
      const [{ presented, lifecycle }, hasFindings] = await Promise.all([
        storage.events.tokenTimelineEvents(
          tenant,
          key,
          after && { at: after[0], id: after[1] },
          q.limit + 1,
          TIMELINE_LIFECYCLE + 1,
        ),
        storage.findings.tokenHasFindings(tenant, key),
      ])
      const summary =
        !after && presented.length <= q.limit
          ? summarisePresentations(presented, TIMELINE_SUMMARY + 1)
          : await storage.events.tokenSummary(tenant, key, TIMELINE_SUMMARY + 1)
      if (summary.length === 0 && lifecycle.length === 0)
        throw new ApiError(404, 'ERR_NOT_FOUND', 'no events for this token')
      const page = presented.slice(0, q.limit)
      const events = lifecycle.slice(0, TIMELINE_LIFECYCLE)
      // The chain is walked only when the token has an exchange: the first level of the walk
      // reads the exchanges that issued the token or took it as subject, which the token's
      // lifecycle events hold already (unless they filled its limit).
      const exchanged =
        lifecycle.length > TIMELINE_LIFECYCLE ||
        events.some((r) => r.event_type === 'token.exchanged')
      const [findings, delegation] = await Promise.all([
        hasFindings
          ? storage.findings.list({
              tenant,
              token: key,
              tokenInEvidence: true,
              limit: TIMELINE_FINDINGS + 1,
            })
          : [],
        exchanged ? storage.events.delegationChain(tenant, key) : undefined,
      ])
      const groups = summary.slice(0, TIMELINE_SUMMARY)
      const last = page[page.length - 1]
      return {
        token_key: key,
        issuance: events
          .filter(
            (r) =>
              r.token_key === key &&
              (r.event_type === 'token.issued' || r.event_type === 'token.exchanged'),
          )
          .map((r) => present(r, publicUrl)),
        presentations: page.map((r) => present(r, publicUrl)),
        next_cursor:
          presented.length > q.limit && last ? encodeCursor(last.occurred_at, last.event_id) : null,
        summary: groups.map((g) => ({
          ...g,
          first_seen: rfc3339(g.first_seen),
          last_seen: rfc3339(g.last_seen),
        })),
        exchanged_into: events
          .filter((r) => r.subject_token_key === key && r.token_key !== key)
          .map((r) => present(r, publicUrl)),
        resources: [...new Set(groups.map((g) => g.resource).filter((r) => r !== ''))],
        findings: await withTriageFields(
          storage,
          tenant,
          findings.slice(0, TIMELINE_FINDINGS).map((f) => presentFinding(f, publicUrl)),
          { latest: latestTriageOf(findings.slice(0, TIMELINE_FINDINGS)) },
        ),
        truncated:
          summary.length > TIMELINE_SUMMARY ||
          lifecycle.length > TIMELINE_LIFECYCLE ||
          findings.length > TIMELINE_FINDINGS,
        links: tokenLinks(key, publicUrl),
        delegation: {
          ancestors: delegation?.ancestors ?? [],
          descendants: delegation?.descendants ?? [],
          truncated: delegation?.truncated ?? false,
        },
      }
    },
  }),
]
