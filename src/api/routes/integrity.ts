/**
 * GET /v1/integrity: the tenant's event chains walked against its signed checkpoints
 * (docs/integrity.md), the report `audtrail verify --json` prints. Admin only: the walk reads
 * every event of the tenant (a page of positions at a time), an expensive request counted in the
 * tenant's slots of expensive work; and what it reports (chain ids, writers) is operator detail.
 * Tenant-bound like every query: a caller with a tenant sees that tenant's chains only.
 */
import { z } from 'zod'
import { verifyIntegrity } from '../../integrity/verify.js'
import { createIntegrityStore } from '../../storage/integrity-store.js'
import { fairnessOf } from '../fairness.js'
import { TenantParam, tenantOf } from '../params.js'
import { defineRoute } from '../route.js'

const Count = z.number().int().min(0)

export const IntegrityIssueSchema = z.object({
  kind: z.enum([
    'edited',
    'deleted',
    'inserted',
    'truncated',
    'unchained',
    'checkpoint_invalid',
    'checkpoint_missing',
  ]),
  chain: z.string().optional(),
  position: Count.optional().describe('the position in the chain (or the first of a range)'),
  to: Count.optional().describe('the last position of a range'),
  event_id: z.string().optional(),
  writer: z.string().optional(),
  checkpoint: Count.optional(),
  detail: z.string(),
})

export const IntegrityReportSchema = z.object({
  tenant: z.string(),
  ok: z.boolean().describe('no issue found'),
  checked_at: z.string(),
  elapsed_ms: Count,
  rows_read: Count,
  checkpoints: z.object({ valid: Count, invalid: Count }),
  chains: z.array(
    z.object({
      chain: z.string(),
      rows: Count,
      last_position: Count,
      attested: Count.describe('size the newest valid checkpoint signs'),
      unattested: Count.describe('positions past it, not yet signed'),
    }),
  ),
  unchained: Count.describe('rows without a link'),
  issues_total: Count,
  issues: z.array(IntegrityIssueSchema).describe('the first 1 000 issues'),
  warnings: z.array(z.string()),
})

export const routes = [
  defineRoute({
    method: 'GET',
    url: '/v1/integrity',
    operationId: 'getV1Integrity',
    summary: "Verify the tenant's event hash chains against the signed checkpoints",
    role: 'admin',
    serves: 'queries',
    query: z.strictObject({
      tenant: TenantParam,
      strict: z.enum(['0', '1']).optional().describe('1: rows not yet signed are issues too'),
    }),
    responses: { 200: IntegrityReportSchema },
    handler: async ({ caller, query, deps: { storage, authenticate, integrityKeys } }) => {
      const tenant = tenantOf(caller, query.tenant)
      // One slot of the tenant's expensive work, like a report of one day (fairness.ts).
      const now = Date.now()
      const release = fairnessOf(authenticate).admitReport(tenant, {
        since: now - 86_400_000,
        until: now,
      })
      try {
        return await verifyIntegrity(createIntegrityStore(storage), tenant, {
          keys: integrityKeys ?? new Map(),
          strict: query.strict === '1',
        })
      } finally {
        release()
      }
    },
  }),
]
