/** Response bodies of ingest and the unauthenticated health endpoints. */
import { z } from 'zod'
import { Count } from './common.js'
import { COMPONENTS } from './json-schema.js'

/** Per-event answer of POST /v1/ingest. */
export const IngestResultSchema = z.object({
  index: Count.describe(
    'position of the event in the request: its array index, or its 0-based NDJSON line (blank lines have no result, and are counted)',
  ),
  status: z
    .enum(['accepted', 'duplicate', 'rejected'])
    .describe(
      'accepted: valid and stored (with Kafka as the transport: produced; the consumer drops duplicates). duplicate: valid, but an event with this tenant and event_id came earlier in the request or is already stored (looked up around its occurred_at), so this one was not stored: a retry of a stored event, or another event under an id already used (a producer bug). rejected: refused, see reasons; kept in rejected_events and the DLQ',
    ),
  event_id: z.string().optional(),
  reasons: z.array(z.string()).optional().describe('why the event was rejected'),
})

export const IngestResponseSchema = z.object({
  accepted: Count.describe('events stored'),
  duplicates: Count.describe('valid events not stored because their event_id is already stored'),
  rejected: Count.describe('events refused'),
  results: z.array(IngestResultSchema),
})

export const HealthSchema = z.object({ status: z.literal('ok') })

export const ReadinessSchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.record(z.string(), z.boolean()).describe('each dependency: true when reachable'),
})

// Their names in the OpenAPI document (components).
COMPONENTS.add(IngestResponseSchema, { component: 'IngestResponse' })
COMPONENTS.add(HealthSchema, { component: 'Health' })
COMPONENTS.add(ReadinessSchema, { component: 'Readiness' })
