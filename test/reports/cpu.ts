/**
 * CPU of the compliance report on data already loaded (docs/design/report-performance.md): opens
 * the data directory a `bench:api` run kept (BENCH_DATA_DIR), builds the 30-day report of every
 * framework of tenant `bench` RUNS times (default 3) and prints each run's wall and CPU time, and
 * the same of each repository call of the report. The embedded engine runs in this process, so
 * `process.cpuUsage` counts its threads: the figure does not depend on the machine's load the way
 * wall time does. Not part of the suite:
 *
 *   REPORT_DATA_DIR=/tmp/bench/data [MIGRATE=1] [RUNS=3] npx tsx test/reports/cpu.ts
 *
 * MIGRATE=1 applies pending migrations first (and times them); without it the schema is used as
 * it is. The period ends 17 min 23.456 s before the last stored event and spans 30 days, so both
 * ends are partial hours, and is the same on every run over the same data.
 */
import { buildComplianceReport } from '../../src/reports/index.js'
import { createStorage } from '../../src/storage/client.js'
import { migrate } from '../../src/storage/migrate.js'
import type { ReportsRepository } from '../../src/storage/repositories.js'
import { RETENTION } from '../helpers/storage.js'

const DIR = process.env.REPORT_DATA_DIR
if (!DIR) throw new Error('set REPORT_DATA_DIR to a kept bench:api data directory')
const RUNS = Number(process.env.RUNS ?? 3)
const DAY = 86_400_000

const storage = createStorage({ database: 'bench', dataDir: DIR })
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000

try {
  if (process.env.MIGRATE === '1') {
    const t = performance.now()
    const c = process.cpuUsage()
    const { applied } = await migrate(storage, { retention: RETENTION })
    console.log(
      `migrated ${applied.join(', ') || '(nothing pending)'}: wall ${(performance.now() - t).toFixed(0)} ms, CPU ${cpuMs(process.cpuUsage(c)).toFixed(0)} ms`,
    )
  }
  const rs = await storage.client.query({
    query: `SELECT toUnixTimestamp64Milli(max(occurred_at)) AS last, count() AS n
            FROM bench.events WHERE tenant = 'bench'`,
    format: 'JSONEachRow',
  })
  const [{ last, n }] = await rs.json<{ last: string; n: string }>()
  const until = Number(last) - 1_043_456
  const since = until - 30 * DAY
  console.log(
    `tenant bench: ${n} events; period ${new Date(since).toISOString()} .. ${new Date(until).toISOString()}`,
  )

  // Each repository call of the report, timed (the calls run concurrently: the CPU of a call
  // is what the process spent while it ran, an upper bound when others overlap it).
  const calls = new Map<string, { wall: number[]; cpu: number[] }>()
  const reports = storage.reports as unknown as Record<
    string,
    (...a: unknown[]) => Promise<unknown>
  >
  for (const name of Object.keys(storage.reports) as (keyof ReportsRepository)[]) {
    const f = reports[name]!.bind(storage.reports)
    reports[name] = async (...args: unknown[]) => {
      const t = performance.now()
      const c = process.cpuUsage()
      try {
        return await f(...args)
      } finally {
        const m = calls.get(name) ?? { wall: [], cpu: [] }
        m.wall.push(performance.now() - t)
        m.cpu.push(cpuMs(process.cpuUsage(c)))
        calls.set(name, m)
      }
    }
  }

  const wall: number[] = []
  const cpu: number[] = []
  let metrics = ''
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now()
    const c = process.cpuUsage()
    const report = await buildComplianceReport(storage, {
      tenant: 'bench',
      framework: 'all',
      since,
      until,
    })
    cpu.push(cpuMs(process.cpuUsage(c)))
    wall.push(performance.now() - t)
    const got = report.metrics
      .map((m) => `${m.id}=${m.value === null ? 'null' : +m.value.toFixed(6)}/${m.basis}`)
      .join(' ')
    if (i > 0 && got !== metrics) throw new Error('the metrics differ between runs')
    metrics = got
  }
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ')
  console.log(`metrics: ${metrics}`)
  console.log(`report: wall ${fmt(wall)} ms; CPU ${fmt(cpu)} ms`)
  for (const [name, m] of calls)
    console.log(`  ${name.padEnd(16)} wall ${fmt(m.wall)} ms; CPU ${fmt(m.cpu)} ms`)
} finally {
  await storage.close()
}
