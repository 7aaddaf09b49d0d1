/** Response bodies of the events search and the token timeline. */
import { z } from 'zod'
import type { ResourceComparison } from '../../events/resource-types.js'
import { AuditEventSchema } from '../../events/schema.js'
import { Instant } from './common.js'
import { FindingSchema } from './finding.js'
import { listOf } from './list.js'
import { COMPONENTS } from './json-schema.js'

const COMPARISONS = [
  'identical',
  'equivalent',
  'variant',
  'different',
] as const satisfies readonly ResourceComparison[]

/** One stored event: the contract event as received, plus what the pipeline derived from it. */
export const EventItemSchema = z.object({
  event: AuditEventSchema,
  received_at: Instant,
  token_key: z.string().nullable().describe('jti, else the fingerprint; null without a token'),
  resource_canonical: z
    .string()
    .nullable()
    .describe('canonical form of the resource a token was presented at'),
  aud_match: z
    .enum(COMPARISONS)
    .nullable()
    .describe('closest class of the presented aud to the resource (presentations only)'),
})

export const EventListSchema = listOf(EventItemSchema)

/** One token's life: how it was issued, every presentation, what it was exchanged into. */
export const TokenTimelineSchema = z.object({
  token_key: z.string(),
  issuance: z.array(EventItemSchema).describe('token.issued / token.exchanged events of the token'),
  presentations: z.array(EventItemSchema),
  exchanged_into: z
    .array(EventItemSchema)
    .describe('token.exchanged events that took this token as their subject token'),
  resources: z.array(z.string()).describe('canonical resources the token was presented at'),
  findings: z.array(FindingSchema),
})

// Their names in the OpenAPI document (components).
COMPONENTS.add(EventItemSchema, { component: 'EventItem' })
COMPONENTS.add(EventListSchema, { component: 'EventList' })
COMPONENTS.add(TokenTimelineSchema, { component: 'TokenTimeline' })
