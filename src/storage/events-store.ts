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

export async function insertEventRows(
  storage: Storage,
  rows: readonly EventRow[],
  options: InsertOptions = {},
): Promise<void> {
  try {
    await storage.insert(`${quoteIdentifier(storage.database)}.events`, rows, {
      insert_deduplication_token: options.dedupToken ?? '',
    })
  } catch (err) {
    throw mapStorageError(err, 'insert into events')
  }
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
