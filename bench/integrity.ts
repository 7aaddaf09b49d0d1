/**
 * `npm run bench:integrity`: the ingest cost of the tamper-evident chain (docs/integrity.md).
 * The same events go through the ClickHouse sink (embedded engine, the consumer's write path:
 * the lookup of stored ids, the insert, its journal) with the chain and without it, the arms
 * alternating round by round on fresh tenants, each round (encoding included: the digests are
 * taken there) timed by the process's CPU (all threads, the engine's included) and the clock. A
 * third figure is the sink's own part of the chain: Chainer.link on encoded inserts, nothing
 * sent. Prints one JSON line.
 *
 *   BENCH_EVENTS (default 20 000 per arm and round), BENCH_ROUNDS (3), BENCH_CHUNK (5 000)
 */
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseEvent } from '../src/events/index.js'
import { toEventRow, type EventRow } from '../src/events/event-row.js'
import { Chainer } from '../src/integrity/chainer.js'
import { startCheckpointer } from '../src/integrity/checkpoint.js'
import { createClickHouseSink } from '../src/pipeline/sink.js'
import { createStorage } from '../src/storage/client.js'
import { encodeEvents, encodedInsert } from '../src/storage/events-store.js'
import { createIntegrityStore } from '../src/storage/integrity-store.js'
import { migrate } from '../src/storage/migrate.js'
import { benchEvent } from './events.js'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const CHUNK = Number(process.env.BENCH_CHUNK ?? 5_000)

/** The arm's events as rows, in chunks (encoded in the timed part, as the worker does). */
function chunks(tenant: string): EventRow[][] {
  const out: EventRow[][] = []
  for (let i = 0; i < EVENTS; i += CHUNK)
    out.push(
      Array.from({ length: Math.min(CHUNK, EVENTS - i) }, () => {
        const parsed = parseEvent(benchEvent({ tenant }))
        if (!parsed.ok) throw new Error(parsed.reasons.join('; '))
        return toEventRow(parsed.event, { receivedAt: Date.now() })
      }),
    )
  return out
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const round1 = (x: number) => Math.round(x * 10) / 10

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'audtrail-bench-integrity-'))
  const storage = createStorage({ database: 'bench_integrity', dataDir: dir })
  try {
    await migrate(storage, {
      retention: { eventsDays: 400, rejectedDays: 30, findingsDays: 730 },
    })
    const store = createIntegrityStore(storage)
    const chainer = new Chainer('wbench')
    const checkpointer = startCheckpointer({
      chainer,
      key: generateKeyPairSync('ed25519').privateKey,
      everyEvents: 10_000,
      store: (tenant, s) =>
        store.writeCheckpoint(tenant, {
          writer: s.checkpoint.writer,
          seq: s.checkpoint.seq,
          issued_at: s.checkpoint.issued_at,
          jws: s.jws,
        }),
    })
    const arms = {
      plain: createClickHouseSink(storage, { journalDir: join(dir, 'journal-plain') }),
      chained: createClickHouseSink(storage, {
        journalDir: join(dir, 'journal-chained'),
        integrity: { chainer, checkpointer },
      }),
    }
    const cpu: Record<keyof typeof arms, number[]> = { plain: [], chained: [] }
    const wall: Record<keyof typeof arms, number[]> = { plain: [], chained: [] }
    const link: number[] = []
    const digest: number[] = []
    // A warm-up round of each arm, not counted (the engine's first inserts create its parts).
    for (let round = -1; round < ROUNDS; round++) {
      const order: (keyof typeof arms)[] =
        round % 2 === 0 ? ['plain', 'chained'] : ['chained', 'plain']
      for (const arm of order) {
        const data = chunks(`t-${arm}-${round + 1}`)
        const start = performance.now()
        const before = process.cpuUsage()
        // Encoding included: the chained arm's digests are taken there (the validation worker's
        // part in audtrail consume), so CPU per event counts the whole of the chain's work.
        for (const rows of data)
          await arms[arm].write({
            rows: encodeEvents(rows, { digests: arm === 'chained' }),
            rejected: [],
            source: 'kafka:bench:0',
          })
        const used = process.cpuUsage(before)
        if (round < 0) continue
        cpu[arm].push((used.user + used.system) / EVENTS)
        wall[arm].push(performance.now() - start)
      }
      // The chain's own work on the same kind of inserts, nothing sent.
      const data = chunks(`t-link-${round + 1}`)
      const inserts = data.map((rows) => encodedInsert(encodeEvents(rows), undefined)!)
      const digestBefore = process.cpuUsage()
      for (const rows of data) encodeEvents(rows, { digests: true })
      const withDigests = process.cpuUsage(digestBefore)
      const plainBefore = process.cpuUsage()
      for (const rows of data) encodeEvents(rows, { digests: false })
      const withoutDigests = process.cpuUsage(plainBefore)
      if (round >= 0)
        digest.push(
          (withDigests.user + withDigests.system - withoutDigests.user - withoutDigests.system) /
            EVENTS,
        )
      const linker = new Chainer('wlink')
      const before = process.cpuUsage()
      for (const insert of inserts) linker.link(insert, 'kafka:bench:0')
      const used = process.cpuUsage(before)
      if (round >= 0) link.push((used.user + used.system) / EVENTS)
    }
    await checkpointer.close()
    const plain = median(cpu.plain)
    const chained = median(cpu.chained)
    process.stdout.write(
      `${JSON.stringify({
        bench: 'integrity',
        events_per_arm_round: EVENTS,
        rounds: ROUNDS,
        chunk: CHUNK,
        cpu_us_per_event: { plain: round1(plain), chained: round1(chained) },
        cpu_us_per_event_rounds: { plain: cpu.plain.map(round1), chained: cpu.chained.map(round1) },
        events_per_s: {
          plain: Math.round(EVENTS / (median(wall.plain) / 1000)),
          chained: Math.round(EVENTS / (median(wall.chained) / 1000)),
        },
        // The chain's two parts: the digest where rows are encoded, the link in the sink.
        digest_cpu_us_per_event: round1(median(digest)),
        link_cpu_us_per_event: round1(median(link)),
        chained_over_plain_cpu: Math.round((chained / plain) * 1000) / 1000,
        // The issue's target: ours with the chain at least 0.95x ours without it.
        chained_rate_over_plain:
          Math.round((median(wall.plain) / median(wall.chained)) * 1000) / 1000,
      })}\n`,
    )
  } finally {
    await storage.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
