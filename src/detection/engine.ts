/**
 * The streaming detector: event rules evaluated on every stored event, with per-token state that
 * is bounded (least recently used first out) and expires after the token's `exp` plus a grace
 * period; rebuilt from ClickHouse for the recent window after a restart.
 */
import type { Logger } from '../logger.js'
import type { ResourceRegistry } from '../resource-registry.js'
import type { Storage } from '../storage/client.js'
import type { EventRow } from '../storage/event-row.js'
import { toDateTime64 } from '../storage/event-row.js'
import { loadQuery } from '../storage/sql.js'
import type { ExceptionMatcher } from './exceptions.js'
import type { FindingsStore, RecordedFinding } from './findings-store.js'
import type { Detection, EventRule, Rule } from './rule.js'
import { applyToState, type TokenState } from './token-state.js'

export interface DetectorOptions {
  rules: readonly Rule[]
  store: FindingsStore
  exceptions?: ExceptionMatcher
  registry?: ResourceRegistry
  logger: Logger
  /** Per-rule parameter overrides (validated by each rule's schema). */
  params?: Readonly<Record<string, Record<string, unknown>>>
  /** Most token states kept (default 200 000). */
  maxStates?: number
  /** Kept this long past `exp` (default 1 h), or past the last event when there is no exp (24 h). */
  graceS?: number
  idleS?: number
  /** Called with the findings each batch created or updated (alerting). */
  onFindings?: (findings: RecordedFinding[]) => void
}

export interface StreamingDetector {
  /** Evaluate stored rows (in order); safe to call again with the same rows. */
  process(rows: readonly EventRow[]): Promise<void>
  /** Rebuild token state from the events received in the last `windowS` seconds. */
  warmUp(storage: Storage, windowS: number): Promise<number>
  readonly states: number
  readonly suppressed: number
}

export function createStreamingDetector(options: DetectorOptions): StreamingDetector {
  const rules = options.rules.filter((r): r is EventRule => r.kind === 'event')
  const params = new Map(rules.map((r) => [r.id, r.params.parse(options.params?.[r.id] ?? {})]))
  const maxStates = options.maxStates ?? 200_000
  const graceMs = (options.graceS ?? 3600) * 1000
  const idleMs = (options.idleS ?? 86_400) * 1000
  const log = options.logger.child({ component: 'detector' })
  const states = new Map<string, TokenState>()
  let suppressed = 0
  let sinceSweep = 0

  function remember(key: string, state: TokenState) {
    states.delete(key) // re-insert: Map order is least recently used first
    states.set(key, state)
    while (states.size > maxStates) states.delete(states.keys().next().value!)
  }

  function sweep(now: number) {
    for (const [key, s] of states) {
      const expired = s.exp !== undefined ? s.exp * 1000 + graceMs < now : s.lastSeen + idleMs < now
      if (expired) states.delete(key)
    }
  }

  return {
    get states() {
      return states.size
    },
    get suppressed() {
      return suppressed
    },
    async process(rows) {
      const byRule = new Map<EventRule, Detection[]>()
      for (const row of rows) {
        const key = `${row.tenant}\u0000${row.token_key}`
        const before = row.token_key === '' ? undefined : states.get(key)
        for (const rule of rules) {
          try {
            const found = rule.evaluate(row, before, {
              params: params.get(rule.id),
              registry: options.registry,
            })
            if (found.length === 0) continue
            const list = byRule.get(rule)
            if (list) for (const d of found) list.push(d)
            else byRule.set(rule, [...found])
          } catch (err) {
            // A faulty rule must not stop ingestion; it is reported instead.
            log.error({ rule: rule.id, err: String(err) }, 'rule failed on an event')
          }
        }
        const after = applyToState(before, row)
        if (after) remember(key, after)
      }
      if ((sinceSweep += rows.length) >= 10_000) {
        sinceSweep = 0
        sweep(Date.now())
      }
      await options.exceptions?.refresh()
      const groups: [EventRule, Detection[]][] = []
      for (const [rule, detections] of byRule) {
        const kept = detections.filter((d) => {
          const exception = options.exceptions?.match(rule.id, d)
          if (exception) suppressed += 1
          return exception === undefined
        })
        if (kept.length > 0) groups.push([rule, kept])
      }
      const recorded: RecordedFinding[] = await options.store.recordAll(groups)
      if (recorded.length > 0) options.onFindings?.(recorded)
    },
    async warmUp(storage, windowS) {
      const rs = await storage.client.query({
        query: loadQuery('recent-token-events', storage.database),
        query_params: { since: toDateTime64(Date.now() - windowS * 1000), limit: maxStates * 4 },
        format: 'JSONEachRow',
      })
      const rows = await rs.json<EventRow>()
      for (const row of rows) {
        const key = `${row.tenant}\u0000${row.token_key}`
        const after = applyToState(states.get(key), row)
        if (after) remember(key, after)
      }
      sweep(Date.now())
      return rows.length
    },
  }
}
