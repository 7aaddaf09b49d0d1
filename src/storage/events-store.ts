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
  /**
   * Send `received_at` as at least this DateTime64 text (the rows themselves are not changed): the
   * sink stamps the time of the insert, see createClickHouseSink.
   */
  receivedNotBefore?: string
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
    const floor = options.receivedNotBefore ?? ''
    const records = rows.map((r) => insertRecord(r, floor))
    await storage.insert(`${quoteIdentifier(storage.database)}.events`, records, {
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
 * parse. `false` is sent: for Nullable(Bool) it differs from the default. `received_at` is sent
 * as `receivedFloor` when it is earlier.
 */
function insertRecord(row: EventRow, receivedFloor: string): object {
  const out: Record<string, unknown> = {}
  for (const k in row) {
    const v = row[k as keyof EventRow]
    if (v === '' || v === null) continue
    if (typeof v === 'object') {
      if (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0) continue
    }
    out[k] = v
  }
  if (row.received_at < receivedFloor) out.received_at = receivedFloor
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
