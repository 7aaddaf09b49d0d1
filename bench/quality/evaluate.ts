/**
 * Runs a labeled corpus through the rules as audtrail runs them (rows stored in ClickHouse with
 * their own receipt times, the event rules in order of receipt with each event id once, the
 * scheduled rules window by window of `received_at` through the scheduler) and scores the
 * findings against the labels: per rule, true and false alerts and missed attacks.
 */
import { parseEvent } from '../../src/events/parse.js'
import { createLogger } from '../../src/logger.js'
import { parseResourceRegistry } from '../../src/resource-registry.js'
import type { Storage } from '../../src/storage/client.js'
import { toEventRow, type EventRow } from '../../src/events/event-row.js'
import { createRuleEvaluator } from '../../src/detection/engine.js'
import { findingId, type FindingsStore } from '../../src/detection/findings-store.js'
import type { Detection, Rule } from '../../src/detection/rule.js'
import { runScheduledRules } from '../../src/detection/scheduler.js'
import type { Corpus, Label, LabelOf } from './corpus.js'

/** One finding: rule, tenant and dedup keys, as the findings store keeps it. */
export interface Alert {
  rule: string
  tenant: string
  keys: Readonly<Record<string, string>>
  /** how many detections (events or windows) it gathered */
  count: number
  /** the first detection's evidence */
  evidence: Readonly<Record<string, unknown>>
}

export interface RuleScore {
  rule: string
  /** findings matching a label */
  tp: number
  /** findings matching no label (nor an allowed one) */
  fp: number
  /** labels no finding matched */
  fn: number
  labels: number
  /** findings matching only an allowed label */
  incidental: number
  precision: number | null
  recall: number | null
  /** false alerts per 10 000 benign events */
  fpPer10k: number
}

export interface CorpusResult {
  alerts: Alert[]
  scores: RuleScore[]
  falseAlerts: Alert[]
  missed: LabelOf[]
}

const matches = (label: Label, alert: Alert) =>
  label.rule === alert.rule && Object.entries(label.keys).every(([k, v]) => alert.keys[k] === v)

/** Score alerts against labels, per rule of `rules`. */
export function score(
  corpus: Pick<Corpus, 'labels' | 'allowed' | 'benignEvents'>,
  alerts: readonly Alert[],
  rules: readonly string[],
): CorpusResult {
  const scores: RuleScore[] = []
  const falseAlerts: Alert[] = []
  const missed: LabelOf[] = []
  for (const rule of rules) {
    const mine = alerts.filter((a) => a.rule === rule)
    const labels = corpus.labels.filter((l) => l.rule === rule)
    const allowed = corpus.allowed.filter((l) => l.rule === rule)
    let tp = 0
    let incidental = 0
    for (const a of mine) {
      if (labels.some((l) => matches(l, a))) tp += 1
      else if (allowed.some((l) => matches(l, a))) incidental += 1
      else falseAlerts.push(a)
    }
    const fp = mine.length - tp - incidental
    const lost = labels.filter((l) => !mine.some((a) => matches(l, a)))
    missed.push(...lost)
    scores.push({
      rule,
      tp,
      fp,
      fn: lost.length,
      labels: labels.length,
      incidental,
      precision: tp + fp === 0 ? null : tp / (tp + fp),
      recall: labels.length === 0 ? null : (labels.length - lost.length) / labels.length,
      fpPer10k: corpus.benignEvents === 0 ? 0 : (fp * 10_000) / corpus.benignEvents,
    })
  }
  return { alerts: [...alerts], scores, falseAlerts, missed }
}

function collect(found: Map<string, Alert>, rule: Rule, detections: readonly Detection[]) {
  for (const d of detections) {
    const id = findingId(d.tenant, rule, d.keys)
    const alert = found.get(id)
    if (alert) alert.count += 1
    else
      found.set(id, {
        rule: rule.id,
        tenant: d.tenant,
        keys: Object.fromEntries(rule.dedupKey.map((k) => [k, d.keys[k] ?? ''])),
        count: 1,
        evidence: d.evidence,
      })
  }
}

/**
 * Store the corpus in `storage` (a migrated database of its own), run `rules` over it and score
 * the findings. `params` overrides rule parameters as the configuration would (by default the
 * world's own, `corpus.world.params`).
 */
export async function evaluateCorpus(
  corpus: Corpus,
  storage: Storage,
  rules: readonly Rule[],
  params?: Readonly<Record<string, Record<string, unknown>>>,
  /** Longest window of one scheduled run while catching up (the scheduler's maxWindowMs). */
  maxWindowMs = 6 * 3_600_000,
): Promise<CorpusResult> {
  params ??= corpus.world.params
  const registry = parseResourceRegistry(corpus.world.registry, 'corpus registry')
  const rows: EventRow[] = corpus.events.map((d) => {
    const parsed = parseEvent(d.event)
    if (!parsed.ok)
      throw new Error(`corpus event of ${d.family} refused: ${parsed.reasons.join('; ')}`)
    return toEventRow(parsed.event, { receivedAt: d.receivedAt, aliases: registry.aliases })
  })
  for (let i = 0; i < rows.length; i += 20_000)
    await storage.events.insert(rows.slice(i, i + 20_000))

  const found = new Map<string, Alert>()
  const byId = new Map(rules.map((r) => [r.id, r]))
  // Event rules: each event id once (the sink drops ids already stored), in order of receipt.
  // Token state is kept as long as the corpus lasts: it is replayed long after it happened.
  const spanS = Math.ceil((corpus.world.end - corpus.world.start) / 1000) + 86_400
  const evaluator = createRuleEvaluator(rules, { registry, params, graceS: spanS, idleS: spanS })
  const seen = new Set<string>()
  const batch = evaluator.begin()
  for (const row of rows) {
    if (seen.has(row.event_id)) continue
    seen.add(row.event_id)
    batch.add(row)
  }
  for (const [ruleId, detections] of batch.done()) collect(found, byId.get(ruleId)!, detections)

  // Scheduled rules: window by window of received_at, as `audtrail detect` catches up.
  const store: FindingsStore = {
    record: async (rule, detections) => {
      collect(found, rule, detections)
      return []
    },
    recordAll: async (groups) => {
      for (const [rule, detections] of groups) collect(found, rule, detections)
      return []
    },
  }
  const last = Math.max(...corpus.events.map((e) => e.receivedAt))
  const windows = await runScheduledRules(
    {
      storage,
      rules,
      store,
      registry,
      logger: createLogger('silent'),
      params,
      initialLookbackMs: last + 60_000 - (corpus.world.start - 3_600_000),
      maxWindowMs,
    },
    last + 60_000,
  )
  // The scheduler logs a failing rule and goes on: here that would read as missed attacks.
  const scheduled = rules.filter((r) => r.kind === 'scheduled').map((r) => r.id)
  const ran = scheduled.map((id) => windows.filter((w) => w.rule === id).length)
  const failed = scheduled.filter((_, i) => ran[i]! < Math.max(...ran))
  if (failed.length > 0 || ran.some((n) => n === 0))
    throw new Error(`scheduled rules failed on the corpus: ${failed.join(', ') || 'all'}`)
  return score(
    corpus,
    [...found.values()],
    rules.map((r) => r.id),
  )
}
