/**
 * Triage history: every change an analyst makes to a finding's status, assignee or note, one row
 * per changed field (`finding_triage_history`, migration 0013), and who last triaged a set of
 * findings (from `finding_triage`). The interface, its ClickHouse implementation and its memory
 * double live here, composed into Repositories as `triageHistory`.
 */
import type { ClickHouseConnection } from './client.js'
import { mapStorageError } from './errors.js'
import type { TriageRecord } from './repositories.js'
import { loadQuery, quoteIdentifier } from './sql.js'

export const TRIAGE_FIELDS = ['status', 'assignee', 'note'] as const
export type TriageField = (typeof TRIAGE_FIELDS)[number]

/** A `finding_triage_history` row. */
export interface TriageChange {
  tenant: string
  finding_id: string
  /** Unique per change: the same change written twice is stored once. */
  change_id: string
  /** DateTime64 text (UTC) */
  at: string
  by: string
  field: TriageField
  from_value: string
  to_value: string
}

/** A row of finding-triage-history.sql. */
export type TriageChangeRow = Pick<TriageChange, 'at' | 'by' | 'field' | 'from_value' | 'to_value'>

/** A row of finding-triage-latest.sql. */
export interface LastTriageRow {
  finding_id: string
  updated_by: string
  /** DateTime64 text (UTC) */
  updated_at: string
}

/** The most changes of one finding `ofFinding` returns (the newest of them, oldest first). */
export const TRIAGE_HISTORY_LIMIT = 1000

export interface TriageHistoryRepository {
  /**
   * Insert the new triage versions into `finding_triage`, then their changes into
   * `finding_triage_history` (two inserts, whatever the number of findings: bulk triage).
   */
  write(triage: readonly TriageRecord[], changes: readonly TriageChange[]): Promise<void>
  /** finding-triage-history.sql: one finding's changes, oldest first. */
  ofFinding(tenant: string, findingId: string): Promise<TriageChangeRow[]>
  /** finding-triage-latest.sql: who last triaged each of these findings, and when. */
  latest(tenant: string, findingIds: readonly string[]): Promise<LastTriageRow[]>
}

export function clickhouseTriageHistory(ch: ClickHouseConnection): TriageHistoryRepository {
  const db = quoteIdentifier(ch.database)
  async function rows<T>(name: string, params: Record<string, unknown>, what: string) {
    try {
      const rs = await ch.client.query({
        query: loadQuery(name, ch.database),
        query_params: params,
        format: 'JSONEachRow',
      })
      return await rs.json<T>()
    } catch (err) {
      throw mapStorageError(err, what)
    }
  }
  return {
    async write(triage, changes) {
      try {
        await ch.insert(`${db}.finding_triage`, triage)
        await ch.insert(`${db}.finding_triage_history`, changes)
      } catch (err) {
        throw mapStorageError(err, 'triage findings')
      }
    },
    ofFinding: (tenant, id) =>
      rows<TriageChangeRow>(
        'finding-triage-history',
        { tenant, id, limit: TRIAGE_HISTORY_LIMIT },
        'triage history',
      ),
    latest: async (tenant, ids) =>
      ids.length === 0
        ? []
        : rows<LastTriageRow>('finding-triage-latest', { tenant, ids }, 'triage history'),
  }
}

/**
 * The memory double over the memory `finding_triage` (`triage`: its latest version of a finding,
 * `put`: a new version); `up` throws as an outage would.
 */
export function memoryTriageHistory(
  up: () => void,
  triage: {
    get(tenant: string, findingId: string): TriageRecord | undefined
    put(row: TriageRecord): void
  },
): TriageHistoryRepository {
  const stored = new Map<string, TriageChange>()
  const key = (r: TriageChange) => [r.tenant, r.finding_id, r.at, r.change_id].join('\u0000')
  const order = (a: TriageChange, b: TriageChange) =>
    a.at === b.at ? (a.change_id < b.change_id ? -1 : 1) : a.at < b.at ? -1 : 1
  return {
    async write(rows, changes) {
      up()
      for (const r of rows) triage.put({ ...r })
      for (const r of changes) stored.set(key(r), { ...r })
    },
    async ofFinding(tenant, id) {
      up()
      return [...stored.values()]
        .filter((r) => r.tenant === tenant && r.finding_id === id)
        .sort(order)
        .slice(-TRIAGE_HISTORY_LIMIT)
        .map(({ at, by, field, from_value, to_value }) => ({ at, by, field, from_value, to_value }))
    },
    async latest(tenant, ids) {
      up()
      return [...new Set(ids)].flatMap((finding_id) => {
        const t = triage.get(tenant, finding_id)
        return t ? [{ finding_id, updated_by: t.updated_by, updated_at: t.updated_at }] : []
      })
    },
  }
}
