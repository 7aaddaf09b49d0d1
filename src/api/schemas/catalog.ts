/** Response bodies of the rule catalog, the resource inventory and per-client usage. */
import { z } from 'zod'
import { SEVERITIES } from '../../detection/rule.js'
import { Count, Instant, MappingsSchema } from './common.js'
import { listOf } from './list.js'
import { COMPONENTS } from './json-schema.js'

/** A rule as data: metadata, mappings and parameter defaults, never its logic. */
export const RuleEntrySchema = z.object({
  id: z.string(),
  title: z.string(),
  kind: z.enum(['event', 'scheduled']),
  severity: z.enum(SEVERITIES),
  description: z.string(),
  rationale: z.string(),
  references: z.array(z.string()),
  mappings: MappingsSchema,
  false_positives: z.array(z.string()),
  runbook: z.array(z.string()),
  parameters: z.record(z.string(), z.unknown()).describe('parameter defaults'),
  dedup_key: z.array(z.string()),
  dedup_window_s: Count,
})

export const RuleListSchema = listOf(RuleEntrySchema)

export const RESOURCE_ROLES = [
  'requested',
  'granted_aud',
  'presented_aud',
  'resource_server',
] as const

/** One resource (by drift key): its canonical forms, raw spellings by role, and decisions. */
export const ResourceRowSchema = z.object({
  drift_key: z.string(),
  canonical: z.array(z.string()),
  variants: z.array(z.object({ raw: z.string(), role: z.enum(RESOURCE_ROLES), events: Count })),
  accepted: Count.describe('presentations the resource server accepted'),
  rejected: Count.describe('presentations the resource server rejected'),
  first_seen: Instant,
  last_seen: Instant,
  drift: z.boolean().describe('more than one raw spelling'),
})

export const ResourceListSchema = listOf(ResourceRowSchema)

/** One client's usage in the window. */
export const ClientRowSchema = z.object({
  client_id: z.string(),
  resources: z.array(z.string()),
  events: Count,
  tokens: Count.describe('distinct tokens (approximate)'),
  rejected: Count.describe('rejected presentations'),
  findings: Count.describe('findings about the client last seen in the window'),
  open_findings: Count.describe('of those, the ones whose triage status is open'),
  first_seen: Instant,
  last_seen: Instant,
})

export const ClientListSchema = listOf(ClientRowSchema)

// Their names in the OpenAPI document (components).
COMPONENTS.add(RuleEntrySchema, { component: 'RuleEntry' })
COMPONENTS.add(RuleListSchema, { component: 'RuleList' })
COMPONENTS.add(ResourceRowSchema, { component: 'ResourceRow' })
COMPONENTS.add(ResourceListSchema, { component: 'ResourceList' })
COMPONENTS.add(ClientRowSchema, { component: 'ClientRow' })
COMPONENTS.add(ClientListSchema, { component: 'ClientList' })
