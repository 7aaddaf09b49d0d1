/**
 * The consumer's validation worker's own CPU per event, by variant, in one thread: the bench
 * events (bench/events.ts) as Kafka message values, packed in chunks like the consumer's, through
 * validateChunk (decode, validate, canonicalize, the event rules, encode; the digests when the
 * chain is on), the variants alternating round by round after a warm-up round of each; medians.
 * It isolates what issue 30's lever 1 and issue 29's digests change, which `bench:ingest` (whole
 * processes on a shared machine) sees only through the noise. Prints one JSON line.
 *
 *   node --import tsx bench/ingest-worker.ts
 *   BENCH_EVENTS (default 50 000 per variant and round), BENCH_ROUNDS (5), BENCH_CHUNK (10 000)
 */
import { createRuleEvaluator } from '../src/detection/engine.js'
import { RULES } from '../src/detection/rules/index.js'
import { setFastParse } from '../src/events/fast-parse.js'
import { packMessages, validateChunk, type ChunkInput } from '../src/pipeline/chunk.js'
import { benchEvent } from './events.js'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const CHUNK = Number(process.env.BENCH_CHUNK ?? 10_000)

/** What each variant switches: the compiled fast path, the chain's digests. */
const VARIANTS = {
  zod: { fast: false, digests: false },
  zod_chain: { fast: false, digests: true },
  fast: { fast: true, digests: false },
  fast_chain: { fast: true, digests: true },
} as const
type Variant = keyof typeof VARIANTS

function payloads(): { payloads: Uint8Array; bounds: Uint32Array }[] {
  const out = []
  for (let i = 0; i < EVENTS; i += CHUNK) {
    const values = Array.from({ length: Math.min(CHUNK, EVENTS - i) }, () =>
      Buffer.from(JSON.stringify(benchEvent())),
    )
    out.push(packMessages(values))
  }
  return out
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const round1 = (x: number) => Math.round(x * 10) / 10

function main() {
  const rules = RULES.filter((r) => r.kind === 'event')
  const cpu: Record<Variant, number[]> = { zod: [], zod_chain: [], fast: [], fast_chain: [] }
  const names = Object.keys(VARIANTS) as Variant[]
  for (let round = -1; round < ROUNDS; round++) {
    // A different order each round, so that no variant always follows the same one.
    const order = names.map((_, i) => names[(i + Math.max(0, round)) % names.length]!)
    for (const name of order) {
      const variant = VARIANTS[name]
      const chunks = payloads()
      // One evaluator per round and variant, as a fresh worker has (its token state grows).
      const evaluator = createRuleEvaluator(rules)
      setFastParse(variant.fast)
      let valid = 0
      const before = process.cpuUsage()
      for (const { payloads: p, bounds } of chunks) {
        const input: ChunkInput = { payloads: p, bounds, receivedAt: Date.now() }
        const chunk = validateChunk(input, {
          retentionDays: 400,
          evaluator,
          digests: variant.digests,
        })
        valid += chunk.events.tenants.length
      }
      const used = process.cpuUsage(before)
      if (valid !== EVENTS) throw new Error(`${name}: ${valid} of ${EVENTS} events valid`)
      if (round >= 0) cpu[name].push((used.user + used.system) / EVENTS)
    }
  }
  setFastParse(true)
  const m = (name: Variant) => median(cpu[name])
  process.stdout.write(
    `${JSON.stringify({
      bench: 'ingest-worker',
      events_per_variant_round: EVENTS,
      rounds: ROUNDS,
      chunk: CHUNK,
      cpu_us_per_event: Object.fromEntries(names.map((n) => [n, round1(m(n))])),
      cpu_us_per_event_rounds: Object.fromEntries(names.map((n) => [n, cpu[n].map(round1)])),
      // Lever 1: the validation fast path's saving per event, without and with the chain.
      fast_path_saves_us: round1(m('zod') - m('fast')),
      // The chain's digests in the worker, per event (with the fast path).
      digests_cost_us: round1(m('fast_chain') - m('fast')),
    })}\n`,
  )
}

main()
