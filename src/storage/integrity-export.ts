/**
 * The read `audtrail export events` needs beside the integrity store's (src/exports/events.ts):
 * which chains hold a tenant's events of a period, and where in each. Over the in-memory
 * repositories it fails as the integrity store does (no double: the export reads the engine's rows).
 */
import type { Storage } from './client.js'
import { connectionOf } from './client.js'
import { StorageError } from '../errors.js'
import { mapStorageError } from './errors.js'
import { loadQuery } from './sql.js'

export interface PeriodChain {
  /** '' for the unchained rows */
  chain_id: string
  first_seq: number
  last_seq: number
  rows: number
}

/** received_at as ClickHouse takes it: `2026-12-07 19:00:01.234`. */
const stamp = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '')

/** The earliest and latest instants a period may name (DateTime64's range). */
export const PERIOD_START = Date.UTC(1970, 0, 1)
export const PERIOD_END = Date.UTC(2299, 11, 31)

export type PeriodChains = (
  tenant: string,
  period: { since?: number; until?: number },
) => Promise<PeriodChain[]>

export function createPeriodChains(storage: Storage): PeriodChains {
  return async (tenant, period) => {
    let ch: ReturnType<typeof connectionOf>
    try {
      ch = connectionOf(storage)
    } catch {
      throw new StorageError(
        'ERR_STORAGE_QUERY',
        'memory storage: the events export has no in-memory double (see docs/integrity.md)',
      )
    }
    try {
      const rs = await ch.client.query({
        query: loadQuery('integrity-export-chains', ch.database),
        query_params: {
          tenant,
          since: stamp(Math.max(PERIOD_START, period.since ?? PERIOD_START)),
          until: stamp(Math.min(PERIOD_END, period.until ?? PERIOD_END)),
        },
        format: 'JSONEachRow',
      })
      const rows = await rs.json<Record<keyof PeriodChain, string | number>>()
      return rows.map((r) => ({
        chain_id: String(r.chain_id),
        first_seq: Number(r.first_seq),
        last_seq: Number(r.last_seq),
        rows: Number(r.rows),
      }))
    } catch (err) {
      throw mapStorageError(err, 'read the chains of a period')
    }
  }
}
