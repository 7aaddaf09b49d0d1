/**
 * The rule format: metadata as data (docs/spec/rule-catalog.md), typed parameters with defaults, and
 * one of two kinds of logic: `event` rules see one enriched event with the token's state;
 * `scheduled` rules run SQL over a window of `received_at`.
 */
import type { z } from 'zod'
import type { Mappings } from '../frameworks/index.js'
import type { ResourceRegistry } from '../resource-registry.js'
import type { EventRow } from '../events/event-row.js'
import type { TokenState } from './token-state.js'

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const
export type Severity = (typeof SEVERITIES)[number]

/**
 * Framework mappings: one field per mapped framework of the registry (src/frameworks/), each
 * holding ids that framework's file lists (the compiler checks them).
 */
export type { Mappings } from '../frameworks/index.js'

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
  /**
   * Event rules: the state of another token of the event's tenant, by token key (the subject
   * token of an exchange), before this event; undefined when none is held.
   */
  tokenState?: (tokenKey: string) => TokenState | undefined
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
