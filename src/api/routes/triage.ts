/**
 * Triage for analysts (issue 23, item 4): one finding (`PATCH /v1/findings/{id}`) and a filtered
 * set (`POST /v1/findings/triage`, with a dry-run count). Every change is recorded in the
 * finding's history (who, when, which field, from, to); a finding where nothing changes is left
 * alone. Bound to the caller's tenant; one bulk call changes at most BULK_TRIAGE_LIMIT findings.
 */
import { z } from 'zod'
import { applyTriage, TRIAGE_STATUSES } from '../../detection/findings-store.js'
import type { FindingListRow } from '../../storage/repositories.js'
import { ApiError } from '../errors.js'
import { withTriageHistory } from '../finding-triage.js'
import { tenantOf } from '../params.js'
import { defineRoute } from '../route.js'
import { FindingSchema } from '../schemas/finding.js'
import { findingById, FindingId, findingsPage, ListQuery, presentFinding } from './findings.js'

/** The most findings one bulk call changes; a filter matching more is refused (narrow it). */
export const BULK_TRIAGE_LIMIT = 1000
/** Findings read per page while a bulk call collects its matches. */
const PAGE = 500

const TriageSet = z.strictObject({
  status: z.enum(TRIAGE_STATUSES).optional(),
  note: z.string().max(4000).optional(),
  assignee: z.string().max(256).optional(),
})

export const Triage = TriageSet.refine((t) => Object.keys(t).length > 0, {
  message: 'give at least one of status, note, assignee',
})

/** The list query's filters (no paging: a bulk call acts on every match). */
export const TriageFilter = ListQuery.omit({ limit: true, cursor: true })

export const BulkTriage = z.strictObject({
  filter: TriageFilter.describe('the fields of the findings list query (GET /v1/findings)'),
  set: Triage,
  dry_run: z.boolean().default(false),
})

export const BulkTriageResult = z.object({
  matched: z.number().int().min(0).describe('findings the filter matches'),
  updated: z
    .number()
    .int()
    .min(0)
    .describe('findings changed (0 in a dry run; a finding already so is not changed)'),
  limit: z.number().int().describe('the most findings one call changes'),
})

const current = (r: FindingListRow) => ({
  id: r.id,
  status: r.status,
  note: r.note,
  assignee: r.assignee,
})

export const routes = [
  defineRoute({
    method: 'PATCH',
    url: '/v1/findings/:id',
    operationId: 'triageFinding',
    summary: 'Triage a finding (recorded in its history)',
    role: 'analyst',
    serves: 'queries',
    params: FindingId,
    body: Triage,
    responses: { 200: FindingSchema },
    errors: { 404: 'no such finding' },
    handler: async ({ caller, params: { id }, body, deps: { storage, publicUrl } }) => {
      const tenant = tenantOf(caller)
      const [row] = await findingById(storage, tenant, id)
      if (!row) throw new ApiError(404, 'ERR_NOT_FOUND', 'no such finding')
      await applyTriage(storage, tenant, [current(row)], body, caller.subject)
      const [updated] = await findingById(storage, tenant, id)
      return withTriageHistory(storage, tenant, presentFinding(updated!, publicUrl))
    },
  }),

  defineRoute({
    method: 'POST',
    url: '/v1/findings/triage',
    operationId: 'triageFindings',
    summary: `Triage every finding a filter matches (at most ${BULK_TRIAGE_LIMIT} per call), or count them (dry_run)`,
    role: 'analyst',
    serves: 'queries',
    body: BulkTriage,
    responses: { 200: BulkTriageResult },
    errors: {
      400: `the body is invalid, or the filter matches more than ${BULK_TRIAGE_LIMIT} findings (narrow it; nothing was changed)`,
    },
    handler: async ({ caller, body, deps: { storage } }) => {
      const tenant = tenantOf(caller, body.filter.tenant)
      // Every match is read before any change: a change cannot move a finding in or out of the
      // pages still to read (status filters). A dry run counts them all.
      const matches: FindingListRow[] = []
      let cursor: string | undefined
      for (;;) {
        const { rows, next } = await findingsPage(storage, tenant, body.filter, PAGE, cursor)
        matches.push(...rows)
        if (!body.dry_run && matches.length > BULK_TRIAGE_LIMIT)
          throw new ApiError(
            400,
            'ERR_BAD_REQUEST',
            `the filter matches more than ${BULK_TRIAGE_LIMIT} findings (one call changes at most ${BULK_TRIAGE_LIMIT}): narrow it; a dry run counts them`,
          )
        if (next === null) break
        cursor = next
      }
      if (body.dry_run) return { matched: matches.length, updated: 0, limit: BULK_TRIAGE_LIMIT }
      const changed = await applyTriage(
        storage,
        tenant,
        matches.map(current),
        body.set,
        caller.subject,
      )
      return { matched: matches.length, updated: changed.length, limit: BULK_TRIAGE_LIMIT }
    },
  }),
]
