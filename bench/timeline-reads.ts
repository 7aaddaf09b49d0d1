/**
 * CPU per read of the token timeline's queries, before and after migration 0018, in process and
 * with the arms interleaved (the same random token read by each arm in turn), on a bench:api data
 * directory that has taken 0018 (a copy: `cp -a` a bench:api directory, then run this; it migrates).
 * The "0017" arm runs the queries as they were (test/fixtures/timeline-0017: `events` through
 * token_locations), the "0018" arm the queries of sql/queries (token_timeline). CPU time of the
 * whole process (the embedded engine runs in it) around each query, one query at a time: steadier
 * than wall time on a loaded machine. Also checks that both arms return the same rows.
 *
 *   BENCH_DATA_DIR=/path/to/copy BENCH_EVENTS=10000000 BENCH_READS=200 npx tsx bench/timeline-reads.ts
 */
import { readFileSync } from 'node:fs'
import { isDeepStrictEqual } from 'node:util'
import { STORED_EVENT_COLUMNS, toDateTime64 } from '../src/events/event-row.js'
import { createStorage } from '../src/storage/client.js'
import { migrate } from '../src/storage/migrate.js'
import { loadQuery, renderTemplate } from '../src/storage/sql.js'
import { storedEventOf, type TimelineRow } from '../src/storage/token-timeline.js'

const dir = process.env.BENCH_DATA_DIR
if (!dir) throw new Error('BENCH_DATA_DIR: a copy of a bench:api data directory')
const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000_000)
const READS = Number(process.env.BENCH_READS ?? 200)
const TOKENS = Math.ceil(EVENTS / 8) // bench:api's PER_TOKEN
const storage = createStorage({ database: 'bench', dataDir: dir })

const oldQuery = (name: string) =>
  renderTemplate(
    readFileSync(new URL(`../test/fixtures/timeline-0017/${name}.sql`, import.meta.url), 'utf8'),
    { db: 'bench', stored_event_columns: STORED_EVENT_COLUMNS.join(', ') },
  )
    .trim()
    .replace(/;$/, '')

const QUERIES = ['token-timeline-events', 'token-summary', 'delegation-links'] as const
const params = (name: (typeof QUERIES)[number], key: string) =>
  name === 'delegation-links'
    ? { tenant: 'bench', keys: [key], limit: 1001 }
    : {
        tenant: 'bench',
        key,
        cursor_at: toDateTime64(0),
        cursor_id: '',
        fetch: 51,
        limit: 1001,
      }

async function timed(query: string, p: Record<string, unknown>) {
  const before = process.cpuUsage()
  const rs = await storage.client.query({ query, query_params: p, format: 'JSONEachRow' })
  const rows = await rs.json()
  const used = process.cpuUsage(before)
  return { ms: (used.user + used.system) / 1000, rows }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!

async function main() {
  const t0 = Date.now()
  const migrated = await migrate(storage, {
    retention: { eventsDays: 400, rejectedDays: 30, findingsDays: 730 },
  })
  if (migrated.applied.length > 0)
    console.log(`migrated ${migrated.applied.join(', ')} in ${(Date.now() - t0) / 1000} s`)
  const cpu: Record<string, number[]> = {}
  let differ = 0
  let rows = 0
  // Warm both arms (marks and first reads) before counting.
  for (let i = 0; i < 20 + READS; i++) {
    const key = `at-${Math.floor(Math.random() * TOKENS)}`
    for (const name of QUERIES) {
      const arms = i % 2 === 0 ? (['0017', '0018'] as const) : (['0018', '0017'] as const)
      const got: Record<string, unknown[]> = {}
      for (const arm of arms) {
        const sql = arm === '0017' ? oldQuery(name) : loadQuery(name, 'bench')
        const { ms: read, rows: found } = await timed(sql, params(name, key))
        // 0018's events are JSON text, parsed as the repository does: counted in its CPU.
        const before = process.cpuUsage()
        got[arm] =
          arm === '0018' && name === 'token-timeline-events'
            ? found.map((r) => storedEventOf(r as TimelineRow))
            : found
        const parsed = process.cpuUsage(before)
        const ms = read + (parsed.user + parsed.system) / 1000
        if (i >= 20) (cpu[`${name} ${arm}`] ??= []).push(ms)
      }
      if (!isDeepStrictEqual(got['0017'], got['0018'])) differ++
      rows += got['0018']!.length
    }
  }
  const figures = Object.fromEntries(
    Object.entries(cpu).map(([k, xs]) => [k, { median: median(xs), p90: p90(xs) }]),
  )
  console.table(figures)
  console.log(
    JSON.stringify({ events: EVENTS, reads: READS, rows, answers_differ: differ, cpu_ms: figures }),
  )
  await storage.close()
}

await main()
