/** A finding as analysts see it (docs/spec/rule-catalog.md, Findings), with its triage. */
import { z } from 'zod'
import { TRIAGE_STATUSES } from '../../detection/findings-store.js'
import { SEVERITIES } from '../../detection/rule.js'
import { Count, Instant, MappingsSchema } from './common.js'
import { listOf } from './list.js'
import { COMPONENTS } from './json-schema.js'

export const FindingSchema = z.object({
  id: z.string().regex(/^[0-9a-f]{32}$/),
  rule_id: z.string(),
  severity: z.enum(SEVERITIES),
  title: z.string(),
  status: z.enum(TRIAGE_STATUSES),
  tenant: z.string(),
  first_seen: Instant,
  last_seen: Instant,
  count: Count.describe('occurrences (events or scheduled windows)'),
  keys: z
    .record(z.string(), z.string())
    .describe('the dedup key values: token_key, client_id, resource, ...'),
  evidence: z.record(z.string(), z.unknown()).describe("the rule's evidence, with event_ids"),
  mappings: MappingsSchema,
  note: z.string().describe("the analyst's note ('' when none)"),
  assignee: z.string().describe("who triages it ('' when unassigned)"),
})

export const FindingListSchema = listOf(FindingSchema)

// Their names in the OpenAPI document (components).
COMPONENTS.add(FindingSchema, { component: 'Finding' })
COMPONENTS.add(FindingListSchema, { component: 'FindingList' })
