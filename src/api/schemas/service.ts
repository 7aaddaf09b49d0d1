/** Response bodies of ingest and the unauthenticated health endpoints. */
import { z } from 'zod'
import { Count } from './common.js'

/** Per-event answer of POST /v1/ingest. */
export const IngestResultSchema = z.object({
  index: Count.describe(
    'position of the event in the request: its array index, or its 0-based NDJSON line (blank lines have no result, and are counted)',
  ),
  status: z.enum(['accepted', 'rejected']),
  event_id: z.string().optional(),
  reasons: z.array(z.string()).optional().describe('why the event was rejected'),
})

export const IngestResponseSchema = z.object({
  accepted: Count,
  rejected: Count,
  results: z.array(IngestResultSchema),
})

export const HealthSchema = z.object({ status: z.literal('ok') })

export const ReadinessSchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.record(z.string(), z.boolean()).describe('each dependency: true when reachable'),
})
