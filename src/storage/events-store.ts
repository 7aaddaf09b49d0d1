/** Writes rows to `events` and reads them back; the only code that knows the table's name. */
import type { Storage } from './client.js'
import type { EventRow } from './event-row.js'
import { mapStorageError } from './errors.js'
import { loadQuery, quoteIdentifier } from './sql.js'

export interface InsertOptions {
  /**
   * Deterministic token for this exact batch: ClickHouse drops a repeated insert with the same
   * token, so a batch retried after an unacknowledged insert lands once (and so do its rollups).
   */
  dedupToken?: string
}

type InsertObserver = (rows: readonly EventRow[]) => void
const observers = new Map<string, InsertObserver[]>()

/**
 * Call `observer` with the rows of every insert into the embedded engine's `events` of `database`,
 * before the insert is sent (the in-memory filter of stored ids relies on seeing every one).
 */
export function observeEventInserts(database: string, observer: InsertObserver): void {
  observers.set(database, [...(observers.get(database) ?? []), observer])
}

export async function insertEventRows(
  storage: Storage,
  rows: readonly EventRow[],
  options: InsertOptions = {},
): Promise<void> {
  if (rows.length === 0) return
  if (storage.mode === 'embedded')
    for (const observe of observers.get(storage.database) ?? []) observe(rows)
  try {
    await storage.insert(`${quoteIdentifier(storage.database)}.events`, rows.map(insertRecord), {
      insert_deduplication_token: options.dedupToken ?? '',
    })
  } catch (err) {
    throw mapStorageError(err, 'insert into events')
  }
}

/**
 * The row as sent: values equal to their column type's default ('', [], {}, NULL) are left out,
 * and JSONEachRow fills those columns in with that default (no column of `events` has a DEFAULT
 * expression). Most events leave half the columns empty: this halves the bytes to serialize and
 * parse. `false` is sent: for Nullable(Bool) it differs from the default.
 */
function insertRecord(row: EventRow): object {
  const out: Record<string, unknown> = {}
  for (const k in row) {
    const v = row[k as keyof EventRow]
    if (v === '' || v === null) continue
    if (typeof v === 'object') {
      if (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0) continue
    }
    out[k] = v
  }
  return out
}

export async function getEventRow(
  storage: Storage,
  tenant: string,
  eventId: string,
): Promise<EventRow | undefined> {
  try {
    const rs = await storage.client.query({
      query: loadQuery('event-by-id', storage.database),
      query_params: { tenant, event_id: eventId },
      format: 'JSONEachRow',
    })
    const rows = await rs.json<EventRow>()
    return rows[0]
  } catch (err) {
    throw mapStorageError(err, 'read event')
  }
}
