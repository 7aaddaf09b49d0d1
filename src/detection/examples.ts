/**
 * Runs a rule's examples: event rules in memory, event by event, with the token state the engine
 * would hold; scheduled rules against ClickHouse with the events stored first. Used by the one
 * test that checks every rule, and by `audtrail rules --check`-style tooling.
 */
import { assertEvent } from '../events/parse.js'
import { parseResourceRegistry, type ResourceRegistry } from '../resource-registry.js'
import { toDateTime64, toEventRow } from '../events/event-row.js'
import type { Repositories } from '../storage/repositories.js'
import type { Detection, EventRule, Rule, RuleExample, ScheduledRule } from './rule.js'
import { applyExchangeToSubject, applyToState, type TokenState } from './token-state.js'

function registryOf(example: RuleExample): ResourceRegistry | undefined {
  return example.registry
    ? parseResourceRegistry(example.registry, `example ${example.name}`)
    : undefined
}

function rowsOf(example: RuleExample, registry?: ResourceRegistry, tenant?: string) {
  return example.events.map((input) => {
    const event = assertEvent(tenant ? { ...input, tenant } : input)
    // The example's own clock: received when it occurred.
    return toEventRow(event, {
      receivedAt: Date.parse(event.occurred_at),
      aliases: registry?.aliases,
    })
  })
}

export function runEventExample(rule: EventRule, example: RuleExample): Detection[] {
  const registry = registryOf(example)
  const params = rule.params.parse(example.params ?? {})
  const states = new Map<string, TokenState>()
  const detections: Detection[] = []
  for (const row of rowsOf(example, registry)) {
    const key = `${row.tenant}\u0000${row.token_key}`
    const before = row.token_key === '' ? undefined : states.get(key)
    const lookup = (tokenKey: string) =>
      tokenKey === '' ? undefined : states.get(`${row.tenant}\u0000${tokenKey}`)
    detections.push(...rule.evaluate(row, before, { params, registry, tokenState: lookup }))
    const subject = row.event_type === 'token.exchanged' ? lookup(row.subject_token_key) : undefined
    const after = applyToState(before, row, subject)
    if (after) states.set(key, after)
    if (subject !== undefined) applyExchangeToSubject(subject, row)
  }
  return detections
}

/** Stores the example's events under a tenant of its own, then runs the rule's SQL over them. */
export async function runScheduledExample(
  rule: ScheduledRule,
  example: RuleExample,
  storage: Pick<Repositories, 'events' | 'detection'>,
  tenant: string,
): Promise<Detection[]> {
  const registry = registryOf(example)
  const params = rule.params.parse(example.params ?? {})
  const rows = rowsOf(example, registry, tenant)
  await storage.events.insert(rows)
  const times = rows.map((r) => r.received_at).sort()
  const result = await storage.detection.runRule(
    rule.sql,
    rule.queryParams(params),
    times[0]!,
    toDateTime64(Date.parse(`${times[times.length - 1]!.replace(' ', 'T')}Z`) + 1),
  )
  return result
    .filter((r) => r.tenant === tenant)
    .map((r) => rule.toDetection(r, { params, registry }))
    .filter((d): d is Detection => d !== undefined)
}

export async function runExample(
  rule: Rule,
  example: RuleExample,
  storage: Pick<Repositories, 'events' | 'detection'>,
  tenant: string,
): Promise<Detection[]> {
  return rule.kind === 'event'
    ? runEventExample(rule, example)
    : runScheduledExample(rule, example, storage, tenant)
}
