/**
 * GET /v1/sender-constraint (issue 27): how much of the tenant's traffic is sender-constrained
 * over a period, per client and per resource: the share of tokens that are bound (DPoP `cnf.jkt`,
 * RFC 9449 §6; mTLS `cnf.x5t#S256`, RFC 8705 §3) and the share of accepted presentations that
 * proved possession (a valid DPoP proof or client certificate). Viewer role, tenant-bound; a scan
 * of the period's events, so counted in the tenant's slots of expensive work like a report.
 */
import { z } from 'zod'
import { createSenderCoverageStore, type CoverageRow } from '../../storage/sender-coverage.js'
import { ApiError } from '../errors.js'
import { fairnessOf } from '../fairness.js'
import { TenantParam, tenantOf, TimeParam, timeMs } from '../params.js'
import { defineRoute } from '../route.js'

const DAY_MS = 86_400_000
/** Rows read at most (clients and resources together); `truncated` says when it cut. */
const MAX_ROWS = 10_000

const Count = z.number().int().min(0)
const Share = z
  .number()
  .min(0)
  .max(1)
  .nullable()
  .describe('the ratio, rounded to 4 decimals; null when there is nothing to divide by')

const CoverageItem = z.object({
  tokens: Count.describe('distinct tokens issued or presented'),
  bound_tokens: Count.describe('of them, with a `cnf` (DPoP `jkt` or certificate `x5t#S256`)'),
  bound_share: Share,
  presentations: Count.describe('accepted presentations'),
  proven_presentations: Count.describe('of them, with a valid DPoP proof or client certificate'),
  proven_share: Share,
})

export const SenderConstraintSchema = z.object({
  tenant: z.string(),
  since: z.string().describe('start of the period (RFC 3339, UTC)'),
  until: z.string().describe('end of the period, exclusive (RFC 3339, UTC)'),
  clients: z.array(CoverageItem.extend({ client_id: z.string() })),
  resources: z.array(CoverageItem.extend({ resource: z.string() })),
  truncated: z.boolean().describe('true when more clients and resources than were read exist'),
})

export const SenderConstraintQuery = z.strictObject({
  since: TimeParam.optional().describe('start of the period (default: 30 days before `until`)'),
  until: TimeParam.optional().describe('end of the period, exclusive (default: now)'),
  tenant: TenantParam,
})

const share = (part: number, whole: number) =>
  whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000

function item(r: CoverageRow) {
  return {
    tokens: r.tokens,
    bound_tokens: r.bound_tokens,
    bound_share: share(r.bound_tokens, r.tokens),
    presentations: r.presentations,
    proven_presentations: r.proven_presentations,
    proven_share: share(r.proven_presentations, r.presentations),
  }
}

export const routes = [
  defineRoute({
    method: 'GET',
    url: '/v1/sender-constraint',
    operationId: 'getV1SenderConstraint',
    summary:
      'Share of sender-constrained (DPoP, mTLS) tokens and presentations per client and resource',
    role: 'viewer',
    serves: 'queries',
    query: SenderConstraintQuery,
    responses: { 200: SenderConstraintSchema },
    handler: async ({ caller, query, deps: { storage, authenticate } }) => {
      const tenant = tenantOf(caller, query.tenant)
      const until = timeMs(query.until) ?? Date.now()
      const since = timeMs(query.since) ?? until - 30 * DAY_MS
      if (!(since < until))
        throw new ApiError(400, 'ERR_BAD_REQUEST', 'since: must be before until')
      const release = fairnessOf(authenticate).admitReport(tenant, { since, until })
      try {
        const rows = await createSenderCoverageStore(storage).coverage({
          tenant,
          since,
          until,
          maxRows: MAX_ROWS + 1,
        })
        const kept = rows.slice(0, MAX_ROWS)
        return {
          tenant,
          since: new Date(since).toISOString(),
          until: new Date(until).toISOString(),
          clients: kept
            .filter((r) => r.dimension === 'client')
            .map((r) => ({ client_id: r.name, ...item(r) })),
          resources: kept
            .filter((r) => r.dimension === 'resource')
            .map((r) => ({ resource: r.name, ...item(r) })),
          truncated: rows.length > MAX_ROWS,
        }
      } finally {
        release()
      }
    },
  }),
]
