/**
 * The rule format: metadata as data (docs/spec/rule-catalog.md), typed parameters with defaults, and
 * one of two kinds of logic: `event` rules see one enriched event with the token's state;
 * `scheduled` rules run SQL over a window of `received_at`.
 */
import type { z } from 'zod'
import type { ResourceRegistry } from '../resource-registry.js'
import type { EventRow } from '../events/event-row.js'
import type { TokenState } from './token-state.js'

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const
export type Severity = (typeof SEVERITIES)[number]

/** Framework mappings; every id must be one that docs/spec/frameworks.md lists (a test checks). */
export interface Mappings {
  owasp_nhi: readonly string[]
  owasp_asi: readonly string[]
  nist_csf: readonly string[]
  nist_800_53: readonly string[]
  /** SP 800-207 section 2.1 tenet numbers, as `tenet-3` */
  nist_800_207: readonly string[]
  /** MITRE ATT&CK technique ids, e.g. `T1550.001` */
  mitre: readonly string[]
}

/** What a rule reports; the engine turns it into a deduplicated finding. */
export interface Detection {
  tenant: string
  /** Overrides the rule's default severity (e.g. critical when the replayed token was accepted). */
  severity?: Severity
  /** The dedup key fields: a finding is one per rule and these values. */
  keys: Readonly<Record<string, string>>
  evidence: Readonly<Record<string, unknown>>
  /** The events that make the case (ids), newest last. */
  eventIds: readonly string[]
  /** When it happened (the newest event's occurred_at, ms). */
  at: number
}

export interface RuleContext<P> {
  params: P
  registry?: ResourceRegistry
}

/** An example: a sequence of contract events, and whether the rule must fire on it. */
export interface RuleExample {
  name: string
  fires: boolean
  events: readonly Record<string, unknown>[]
  /** When it fires: the severity every detection must have (the override, else the rule's). */
  severity?: Severity
  /** Parameters for this example (else the defaults). */
  params?: Record<string, unknown>
  registry?: readonly Record<string, unknown>[]
}

interface RuleBase<P extends z.ZodType> {
  id: string
  title: string
  severity: Severity
  description: string
  rationale: string
  references: readonly string[]
  mappings: Mappings
  falsePositives: readonly string[]
  runbook: readonly string[]
  /** zod object whose defaults are the parameter defaults. */
  params: P
  /** Fields of `Detection.keys` that identify one finding. */
  dedupKey: readonly string[]
  /** A new occurrence within this many seconds of the last one updates the same finding. */
  dedupWindowS: number
  examples: readonly RuleExample[]
}

export interface EventRule<P extends z.ZodType = z.ZodType> extends RuleBase<P> {
  kind: 'event'
  /** Pure: the event, the token's state before this event, and the context. */
  evaluate(row: EventRow, state: TokenState | undefined, ctx: RuleContext<z.output<P>>): Detection[]
}

export interface ScheduledRule<P extends z.ZodType = z.ZodType> extends RuleBase<P> {
  kind: 'scheduled'
  /** Name of `sql/rules/<name>.sql`; bound with {tenant?}, {from}, {to} and the parameters. */
  sql: string
  /** Query parameters from the rule's parameters (names and ClickHouse types in the SQL). */
  queryParams(params: z.output<P>): Record<string, unknown>
  /** One result row to a detection (or none). */
  toDetection(row: Record<string, unknown>, ctx: RuleContext<z.output<P>>): Detection | undefined
}

export type Rule = EventRule | ScheduledRule
