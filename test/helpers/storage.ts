/** One embedded ClickHouse engine per test file (the engine allows one data dir per process). */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStorage, type ClickHouseStorage } from '../../src/storage/client.js'

let dataDir: string | undefined
const opened: ClickHouseStorage[] = []

/** A storage handle on this file's engine, bound to `database` (in `dir` when given first). */
export function testStorage(database: string, dir?: string): ClickHouseStorage {
  dataDir ??= dir ?? mkdtempSync(join(tmpdir(), 'audtrail-test-'))
  const storage = createStorage({ database, dataDir })
  opened.push(storage)
  return storage
}

export async function closeTestStorages(): Promise<void> {
  await Promise.all(opened.splice(0).map((s) => s.close()))
}

export const RETENTION = { eventsDays: 400, rejectedDays: 30, findingsDays: 730 }

/** Every count of a tenant's events: the table (deduplicated with FINAL) and each rollup. */
export async function eventCounts(
  storage: ClickHouseStorage,
  tenant: string,
): Promise<Record<string, number>> {
  const db = storage.database
  const rs = await storage.client.query({
    query: `SELECT
      (SELECT count() FROM ${db}.events FINAL WHERE tenant = {t:String}) AS events,
      (SELECT sum(events) FROM ${db}.resource_usage_daily
        WHERE tenant = {t:String} AND role = 'resource_server') AS resource_usage_daily,
      (SELECT sum(events) FROM ${db}.client_usage_daily WHERE tenant = {t:String}) AS client_usage_daily,
      (SELECT sum(events) FROM ${db}.token_usage_hourly WHERE tenant = {t:String}) AS token_usage_hourly,
      (SELECT sum(events) FROM ${db}.client_activity_blocks
        WHERE tenant = {t:String} AND level = 1) AS client_activity_blocks`,
    query_params: { t: tenant },
    format: 'JSONEachRow',
  })
  const [c] = await rs.json<Record<string, string | number>>()
  return Object.fromEntries(Object.entries(c!).map(([k, v]) => [k, Number(v)]))
}

/** What eventCounts gives when each count is `n`. */
export const everyCount = (n: number) => ({
  events: n,
  resource_usage_daily: n,
  client_usage_daily: n,
  token_usage_hourly: n,
  client_activity_blocks: n,
})
