/**
 * Scheduled rules: SQL over windows of `received_at` (late events are still seen, by arrival),
 * each rule with a persisted watermark. A window's findings are recorded before its watermark
 * moves, and occurrences are idempotent, so a restart neither skips nor double-counts a window.
 */
import type { Logger } from '../logger.js'
import type { ResourceRegistry } from '../resource-registry.js'
import { mapStorageError } from '../storage/errors.js'
import { toDateTime64 } from '../events/event-row.js'
import type { Repositories } from '../storage/repositories.js'
import type { ExceptionMatcher } from './exceptions.js'
import type { FindingsStore, RecordedFinding } from './findings-store.js'
import type { Detection, Rule, ScheduledRule } from './rule.js'

export interface SchedulerOptions {
  /** Watermarks and the rules' SQL. */
  storage: Pick<Repositories, 'detection'>
  rules: readonly Rule[]
  store: FindingsStore
  exceptions?: ExceptionMatcher
  registry?: ResourceRegistry
  logger: Logger
  params?: Readonly<Record<string, Record<string, unknown>>>
  /** A window closes this long after its end, for inserts still in flight (default 5 s). */
  latenessMs?: number
  /** Where a rule without a watermark starts (default: one hour back). */
  initialLookbackMs?: number
  /** Longest window evaluated at once (default 1 h); a backlog is caught up window by window. */
  maxWindowMs?: number
}

export interface WindowResult {
  rule: string
  from: string
  to: string
  findings: RecordedFinding[]
  suppressed: number
}

/** Evaluate every scheduled rule over its next windows up to now - lateness. */
export async function runScheduledRules(
  options: SchedulerOptions,
  now = Date.now(),
): Promise<WindowResult[]> {
  const { detection } = options.storage
  const { store } = options
  const end = now - (options.latenessMs ?? 5000)
  const maxWindow = options.maxWindowMs ?? 3_600_000
  const results: WindowResult[] = []
  await options.exceptions?.refresh()
  for (const rule of options.rules.filter((r): r is ScheduledRule => r.kind === 'scheduled')) {
    const params = rule.params.parse(options.params?.[rule.id] ?? {})
    try {
      let from =
        (await detection.watermark(rule.id)) ?? end - (options.initialLookbackMs ?? 3_600_000)
      while (from < end) {
        const to = Math.min(end, from + maxWindow)
        const found = await detection.runRule(
          rule.sql,
          rule.queryParams(params),
          toDateTime64(from),
          toDateTime64(to),
        )
        const detections = found
          .map((row) => rule.toDetection(row, { params, registry: options.registry }))
          .filter((d): d is Detection => d !== undefined)
        const kept = detections.filter((d) => !options.exceptions?.match(rule.id, d))
        const findings = await store.record(rule, kept)
        await detection.setWatermark(rule.id, to)
        results.push({
          rule: rule.id,
          from: toDateTime64(from),
          to: toDateTime64(to),
          findings,
          suppressed: detections.length - kept.length,
        })
        from = to
      }
    } catch (err) {
      // One rule's failure (a bad query, an outage) leaves its watermark where it was.
      options.logger.error(
        { rule: rule.id, err: mapStorageError(err, rule.id).message },
        'scheduled rule failed',
      )
    }
  }
  return results
}
