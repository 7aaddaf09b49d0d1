/** A finding as analysts see it (docs/spec/rule-catalog.md, Findings), with its triage. */
import { z } from 'zod'
import { TRIAGE_STATUSES } from '../../detection/findings-store.js'
import { SEVERITIES } from '../../detection/rule.js'
import { Count, Instant, MappingsSchema } from './common.js'
import { listOf } from './list.js'
import { COMPONENTS } from './json-schema.js'

/** One change of a finding's triage (triage-export, issue 23). */
export const TriageChangeSchema = z.object({
  at: Instant,
  by: z.string().describe('the subject of the API caller who made the change'),
  field: z.enum(['status', 'assignee', 'note']),
  from: z.string().describe("the value before ('' when none; for status, the effective status)"),
  to: z.string(),
})

/** The exception (in force) that covers a finding. */
export const CoveringExceptionSchema = z.object({
  id: z.uuid(),
  reason: z.string(),
})

/** The triage fields of a finding (list items and one finding). */
const TRIAGE_SHAPE = {
  updated_by: z.string().nullable().describe('who last triaged it (null: never triaged)'),
  updated_at: Instant.nullable().describe('when it was last triaged (null: never triaged)'),
  exception: CoveringExceptionSchema.nullable().describe(
    'the exception in force that covers it (its rule and key values), or null; an exception suppresses new detections, the finding stays listed',
  ),
  history: z
    .array(TriageChangeSchema)
    .optional()
    .describe(
      'every change of status, assignee or note, oldest first (GET /v1/findings/{id} and its PATCH only)',
    ),
}

/** Where to go from a finding (relative paths; absolute with AUDTRAIL_PUBLIC_URL). */
export const FindingLinksSchema = z.object({
  self: z.string().describe('this finding: /v1/findings/{id}'),
  events: z.string().describe('its evidence events: /v1/events?finding={id}'),
  rule: z.string().describe('its rule, with the runbook: /v1/rules/{rule_id}'),
  console: z.string().describe("the console's page of the finding: /findings/{id}"),
  token: z
    .string()
    .optional()
    .describe('the timeline of the token it names: /v1/tokens/{token_key}'),
})

export const FindingSchema = z.object({
  id: z.string().regex(/^[0-9a-f]{32}$/),
  rule_id: z.string(),
  severity: z.enum(SEVERITIES),
  title: z.string(),
  status: z.enum(TRIAGE_STATUSES),
  tenant: z.string(),
  first_seen: Instant,
  last_seen: Instant,
  count: Count.describe(
    "occurrences: the distinct events (or scheduled windows) that make the case, per the rule's kind (docs/api.md, Counts)",
  ),
  keys: z
    .record(z.string(), z.string())
    .describe('the dedup key values: token_key, client_id, resource, ...'),
  evidence: z.record(z.string(), z.unknown()).describe("the rule's evidence, with event_ids"),
  mappings: MappingsSchema,
  note: z.string().describe("the analyst's note ('' when none)"),
  assignee: z.string().describe("who triages it ('' when unassigned)"),
  ...TRIAGE_SHAPE,

  links: FindingLinksSchema,
})

export const FindingListSchema = listOf(FindingSchema).extend({
  total: z
    .object({
      value: Count,
      exact: z
        .boolean()
        .describe('false above 10 000 matches: value is then an estimate (from above)'),
    })
    .describe('how many findings the filters match, whatever the page'),
})

// Their names in the OpenAPI document (components).
COMPONENTS.add(FindingSchema, { component: 'Finding' })
COMPONENTS.add(FindingLinksSchema, { component: 'FindingLinks' })
COMPONENTS.add(FindingListSchema, { component: 'FindingList' })
COMPONENTS.add(TriageChangeSchema, { component: 'TriageChange' })
