/**
 * Exceptions: suppressions scoped to a rule (or `*`) and key values, owned by someone, with a
 * reason, and expiring; an expired exception stops matching at once, even before a refresh.
 */
import { randomUUID } from 'node:crypto'
import { toDateTime64 } from '../events/event-row.js'
import type { ExceptionRecord, Repositories } from '../storage/repositories.js'
import type { Detection, Rule } from './rule.js'

export interface ExceptionInput {
  tenant: string
  rule_id: string
  /** Detection key values that must all be equal for the exception to apply. */
  match: Record<string, string>
  owner: string
  reason: string
  /** ms since epoch */
  expiresAt: number
}

export type { ExceptionRecord }

type ExceptionsStorage = Pick<Repositories, 'exceptions'>

export async function createException(
  storage: ExceptionsStorage,
  input: ExceptionInput,
): Promise<string> {
  const exception_id = randomUUID()
  const now = Date.now()
  await storage.exceptions.write({
    tenant: input.tenant,
    exception_id,
    rule_id: input.rule_id,
    match: input.match,
    owner: input.owner,
    reason: input.reason,
    created_at: toDateTime64(now),
    expires_at: toDateTime64(input.expiresAt),
    deleted: false,
    version: now,
  })
  return exception_id
}

/**
 * The keys an exception for `ruleId` may match on: the rule's dedup keys (the key values every
 * finding of the rule carries), or for `*` those of any rule. Other keys match nothing.
 */
export function allowedMatchKeys(
  rules: readonly Pick<Rule, 'id' | 'dedupKey'>[],
  ruleId: string,
): string[] {
  const keys = rules.filter((r) => ruleId === '*' || r.id === ruleId).flatMap((r) => r.dedupKey)
  return [...new Set(keys)].sort()
}

/** Whether exception `e` (in force at `now`, of the same tenant) covers a finding of `ruleId`. */
export function exceptionCovers(
  e: Pick<ExceptionRecord, 'tenant' | 'rule_id' | 'match'> & { expires: number },
  tenant: string,
  ruleId: string,
  keys: Readonly<Record<string, string | undefined>>,
  now: number,
): boolean {
  if (e.tenant !== tenant || e.expires <= now) return false
  if (e.rule_id !== '*' && e.rule_id !== ruleId) return false
  return Object.entries(e.match).every(([k, v]) => keys[k] === v)
}

/** When an exception expires (ms), from its stored `expires_at`. */
export const expiresAt = (e: Pick<ExceptionRecord, 'expires_at'>) =>
  Date.parse(`${e.expires_at.replace(' ', 'T')}Z`)

export function activeExceptions(storage: ExceptionsStorage): Promise<ExceptionRecord[]> {
  return storage.exceptions.active()
}

export interface ExceptionMatcher {
  /** The id of the exception that suppresses this detection, if any. */
  match(ruleId: string, detection: Detection, now?: number): string | undefined
  refresh(): Promise<void>
}

/** A cached view of the exceptions in force, refreshed at most every `refreshMs`. */
export function createExceptionMatcher(
  storage: ExceptionsStorage,
  refreshMs = 30_000,
): ExceptionMatcher {
  // Stryker disable next-line ArrayDeclaration: equivalent, a placeholder entry has no tenant and never matches a detection (always of a tenant)
  let cache: (ExceptionRecord & { expires: number })[] = []
  let loadedAt = 0
  const matcher: ExceptionMatcher = {
    async refresh() {
      cache = (await activeExceptions(storage)).map((e) => ({
        ...e,
        expires: expiresAt(e),
      }))
      loadedAt = Date.now()
    },
    match(ruleId, detection, now = Date.now()) {
      for (const e of cache)
        if (exceptionCovers(e, detection.tenant, ruleId, detection.keys, now)) return e.exception_id
      return undefined
    },
  }
  return {
    match: matcher.match,
    async refresh() {
      if (Date.now() - loadedAt >= refreshMs) await matcher.refresh()
    },
  }
}

/** Withdraw an exception: a deleted version replaces it (it stops matching at the next refresh). */
export async function deleteException(
  storage: ExceptionsStorage,
  existing: ExceptionRecord,
): Promise<void> {
  await storage.exceptions.write({ ...existing, deleted: true, version: Date.now() })
}
