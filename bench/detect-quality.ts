/**
 * bench:detect-quality — the rules' precision and recall on a labeled corpus
 * (bench/quality): for each seed, about BENCH_EVENTS benign events over nine days plus the
 * attack families, stored in the embedded engine and run through every rule as audtrail runs
 * them; prints per rule TP, FP, FN, precision, recall and false alerts per 10 000 benign events,
 * per seed and over all seeds, the false alerts and missed attacks, and ends with one JSON line.
 * `BENCH_EVENTS` (default 50 000) and `BENCH_SEEDS` (default 1,2,3) override; `BENCH_RULES`
 * (comma-separated rule ids, default all) runs only those rules, for iterating on one rule.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateCorpus } from './quality/corpus.js'
import { evaluateCorpus, type RuleScore } from './quality/evaluate.js'
import { FAMILIES } from './quality/scenarios/index.js'
import { RULES } from '../src/detection/rules/index.js'
import { createStorage } from '../src/storage/client.js'
import { migrate } from '../src/storage/migrate.js'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000)
const SEEDS = (process.env.BENCH_SEEDS ?? '1,2,3').split(',').map(Number)
const only = process.env.BENCH_RULES?.split(',').filter((id) => id !== '')
const rules = only ? RULES.filter((r) => only.includes(r.id)) : RULES
if (only && rules.length !== only.length) throw new Error(`unknown rule in BENCH_RULES: ${only}`)
const ruleIds = rules.map((r) => r.id)

const fmt = (x: number | null) => (x === null ? '-' : x.toFixed(3))
function table(scores: readonly RuleScore[]) {
  const rows = scores.map((s) =>
    [
      s.rule.padEnd(30),
      String(s.tp).padStart(4),
      String(s.fp).padStart(4),
      String(s.fn).padStart(4),
      fmt(s.precision).padStart(9),
      fmt(s.recall).padStart(7),
      s.fpPer10k.toFixed(2).padStart(8),
    ].join(' '),
  )
  return [`${'rule'.padEnd(30)}   TP   FP   FN precision  recall  FP/10k`, ...rows].join('\n')
}

const started = performance.now()
const dataDir = mkdtempSync(join(tmpdir(), 'bench-detect-quality-'))
const perSeed: {
  seed: number
  benign: number
  attack: number
  labels: number
  scores: RuleScore[]
}[] = []
for (const seed of SEEDS) {
  const t0 = performance.now()
  const corpus = generateCorpus({ seed, events: EVENTS, families: FAMILIES })
  const storage = createStorage({ database: `quality_${seed}`, dataDir })
  await migrate(storage, { retention: { eventsDays: 400, rejectedDays: 30, findingsDays: 730 } })
  const result = await evaluateCorpus(corpus, storage, rules)
  await storage.close()
  perSeed.push({
    seed,
    benign: corpus.benignEvents,
    attack: corpus.attackEvents,
    labels: corpus.labels.length,
    scores: result.scores,
  })
  console.log(
    `\nseed ${seed}: ${corpus.benignEvents} benign events, ${corpus.attackEvents} events of ${corpus.labels.length} labeled attack findings (${corpus.events.length - corpus.benignEvents - corpus.attackEvents} duplicate deliveries); ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  )
  console.log(table(result.scores))
  for (const a of result.falseAlerts)
    console.log(
      `  false alert ${a.rule} ${JSON.stringify(a.keys)} ${JSON.stringify(a.evidence).slice(0, 300)}`,
    )
  for (const m of result.missed)
    console.log(`  missed ${m.rule} ${JSON.stringify(m.keys)} (${m.family} #${m.instance})`)
}
rmSync(dataDir, { recursive: true, force: true })

const benign = perSeed.reduce((s, r) => s + r.benign, 0)
const total: RuleScore[] = ruleIds.map((rule) => {
  const all = perSeed.map((r) => r.scores.find((s) => s.rule === rule)!)
  const tp = all.reduce((s, x) => s + x.tp, 0)
  const fp = all.reduce((s, x) => s + x.fp, 0)
  const fn = all.reduce((s, x) => s + x.fn, 0)
  const labels = all.reduce((s, x) => s + x.labels, 0)
  return {
    rule,
    tp,
    fp,
    fn,
    labels,
    incidental: all.reduce((s, x) => s + x.incidental, 0),
    precision: tp + fp === 0 ? null : tp / (tp + fp),
    recall: labels === 0 ? null : (labels - fn) / labels,
    fpPer10k: (fp * 10_000) / benign,
  }
})
const seconds = (performance.now() - started) / 1000
console.log(`\nall seeds (${SEEDS.join(', ')}): ${benign} benign events; ${seconds.toFixed(0)} s`)
console.log(table(total))
console.log(
  JSON.stringify({
    bench: 'detect-quality',
    events_per_seed: EVENTS,
    seeds: SEEDS,
    ...(only && { rules_run: ruleIds }),
    benign_events: benign,
    attack_findings: total.reduce((s, x) => s + x.labels, 0),
    seconds: Math.round(seconds),
    rules: Object.fromEntries(
      total.map((s) => [
        s.rule,
        {
          tp: s.tp,
          fp: s.fp,
          fn: s.fn,
          precision: s.precision,
          recall: s.recall,
          fp_per_10k_benign: Number(s.fpPer10k.toFixed(3)),
        },
      ]),
    ),
  }),
)
process.exit(0)
