/**
 * Scheduled rules: SQL over windows of `received_at` (late events are still seen, by arrival),
 * each rule with a persisted watermark. A window's findings are recorded before its watermark
 * moves, and occurrences are idempotent, so a restart neither skips nor double-counts a window.
 */
import type { Logger } from '../logger.js'
import type { ResourceRegistry } from '../resource-registry.js'
import type { Storage } from '../storage/client.js'
import { mapStorageError } from '../storage/errors.js'
import { toDateTime64 } from '../events/event-row.js'
import { loadSql, quoteIdentifier } from '../storage/sql.js'
import type { ExceptionMatcher } from './exceptions.js'
import type { FindingsStore, RecordedFinding } from './findings-store.js'
import type { Detection, Rule, ScheduledRule } from './rule.js'
import { rowTime } from './token-state.js'

export interface SchedulerOptions {
  storage: Storage
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

async function watermark(storage: Storage, ruleId: string): Promise<number | undefined> {
  const rs = await storage.client.query({
    query: `SELECT watermark FROM ${quoteIdentifier(storage.database)}.detector_watermarks FINAL WHERE rule_id = {rule:String}`,
    query_params: { rule: ruleId },
    format: 'JSONEachRow',
  })
  const row = (await rs.json<{ watermark: string }>())[0]
  return row ? rowTime(row.watermark) : undefined
}

/** Evaluate every scheduled rule over its next windows up to now - lateness. */
export async function runScheduledRules(
  options: SchedulerOptions,
  now = Date.now(),
): Promise<WindowResult[]> {
  const { storage, store } = options
  const end = now - (options.latenessMs ?? 5000)
  const maxWindow = options.maxWindowMs ?? 3_600_000
  const results: WindowResult[] = []
  await options.exceptions?.refresh()
  for (const rule of options.rules.filter((r): r is ScheduledRule => r.kind === 'scheduled')) {
    const params = rule.params.parse(options.params?.[rule.id] ?? {})
    try {
      let from =
        (await watermark(storage, rule.id)) ?? end - (options.initialLookbackMs ?? 3_600_000)
      while (from < end) {
        const to = Math.min(end, from + maxWindow)
        const rs = await storage.client.query({
          query: loadSql('rules', rule.sql, storage.database),
          query_params: {
            ...rule.queryParams(params),
            from: toDateTime64(from),
            to: toDateTime64(to),
          },
          format: 'JSONEachRow',
        })
        const detections = (await rs.json<Record<string, unknown>>())
          .map((row) => rule.toDetection(row, { params, registry: options.registry }))
          .filter((d): d is Detection => d !== undefined)
        const kept = detections.filter((d) => !options.exceptions?.match(rule.id, d))
        const findings = await store.record(rule, kept)
        await storage.insert(`${quoteIdentifier(storage.database)}.detector_watermarks`, [
          { rule_id: rule.id, watermark: toDateTime64(to), updated_at: toDateTime64(Date.now()) },
        ])
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
