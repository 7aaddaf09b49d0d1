/** Response bodies of the events search and the token timeline. */
import { z } from 'zod'
import type { ResourceComparison } from '../../events/resource-types.js'
import { AuditEventSchema } from '../../events/schema.js'
import { Count, Instant } from './common.js'
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
  links: z.object({
    findings: z
      .string()
      .nullable()
      .describe(
        'the findings about it: /v1/findings?token={token_key}, else ?client={client_id}; null without either',
      ),
    token: z.string().optional().describe("its token's timeline: /v1/tokens/{token_key}"),
  }),
})

export const EventListSchema = listOf(EventItemSchema)

/** One RFC 8693 exchange of a delegation chain: `token_key` was issued for `subject_token_key`. */
export const DelegationLinkSchema = z.object({
  event_id: z.string().describe('the token.exchanged event'),
  occurred_at: Instant,
  token_key: z.string().describe('the token the exchange issued'),
  subject_token_key: z.string().describe('the token it was exchanged for (subject_token)'),
  client_id: z.string().describe('the client that asked for the exchange'),
  actor: z
    .object({ subject: z.string().nullable(), client_id: z.string().nullable() })
    .describe('the actor (actor_token) the exchange named, if any'),
  granted_aud: z.array(z.string()).describe('audiences of the issued token'),
  scopes: z.array(z.string()).describe('scopes of the issued token'),
  act_depth: z
    .number()
    .int()
    .nullable()
    .describe('nesting depth of the act claim as the authorization server recorded it'),
})

/** The exchanges around one token (RFC 8693, section 4.1: the act claim's chain). */
export const DelegationSchema = z.object({
  ancestors: z
    .array(DelegationLinkSchema)
    .describe(
      'nearest first: the exchange that issued this token, then the one that issued its subject token, back to the token the user consented to',
    ),
  descendants: z
    .array(DelegationLinkSchema)
    .describe(
      'the exchanges that took this token, or a token exchanged from it, as subject, level by level',
    ),
  truncated: z
    .boolean()
    .describe('true when the walk stopped at its bound (16 levels each way, 256 links)'),
})

/** A token's presentations at one resource with one decision. */
export const TokenSummarySchema = z.object({
  resource: z.string().describe('canonical resource (as presented when it has none)'),
  decision: z.string(),
  count: Count.describe('distinct presentation events'),
  first_seen: Instant,
  last_seen: Instant,
})

/** One token's life: how it was issued, every presentation, what it was exchanged into. */
export const TokenTimelineSchema = z.object({
  token_key: z.string(),
  issuance: z.array(EventItemSchema).describe('token.issued / token.exchanged events of the token'),
  presentations: z
    .array(EventItemSchema)
    .describe('one page of the presentations, oldest first (`limit`, `cursor`)'),
  next_cursor: z
    .string()
    .nullable()
    .describe('pass as `cursor` for the next page of presentations; null on the last page'),
  summary: z
    .array(TokenSummarySchema)
    .describe('every presentation, per resource and decision (all pages)'),
  exchanged_into: z
    .array(EventItemSchema)
    .describe('token.exchanged events that took this token as their subject token'),
  resources: z.array(z.string()).describe('canonical resources the token was presented at'),
  findings: z
    .array(FindingSchema)
    .describe('findings keyed on the token, and those whose evidence names it'),
  truncated: z
    .boolean()
    .describe(
      'true when a cap cut the answer: more than 1000 summary groups, issuance and exchange events, or findings',
    ),
  links: z.object({
    self: z.string(),
    findings: z.string().describe('/v1/findings?token={key}'),
    events: z.string().describe('/v1/events?token={key}'),
  }),
  delegation: DelegationSchema,
})

// Their names in the OpenAPI document (components).
COMPONENTS.add(EventItemSchema, { component: 'EventItem' })
COMPONENTS.add(EventListSchema, { component: 'EventList' })
COMPONENTS.add(TokenTimelineSchema, { component: 'TokenTimeline' })
COMPONENTS.add(TokenSummarySchema, { component: 'TokenSummary' })
COMPONENTS.add(DelegationLinkSchema, { component: 'DelegationLink' })
COMPONENTS.add(DelegationSchema, { component: 'Delegation' })
