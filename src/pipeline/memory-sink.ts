/** An in-memory EventSink with the same idempotence, and a switch to simulate an outage (tests). */
import { StorageError } from '../errors.js'
import type { EventRow } from '../events/event-row.js'
import { decodeEvents } from '../storage/events-store.js'
import type { RejectedRow } from '../events/rejected-row.js'
import type { EventSink } from './sink.js'
import { eventKey } from './stored-ids.js'

export interface MemorySink extends EventSink {
  readonly rows: EventRow[]
  readonly rejected: RejectedRow[]
  /** While false, every write fails as a ClickHouse outage would (retriable). */
  available: boolean
  /** Number of write calls, failed ones included. */
  writes: number
}

export function createMemorySink(): MemorySink {
  const ids = new Set<string>()
  const rejectionIds = new Set<string>()
  const sink: MemorySink = {
    rows: [],
    rejected: [],
    available: true,
    writes: 0,
    async write(batch) {
      sink.writes += 1
      if (!sink.available)
        throw new StorageError('ERR_SINK_UNAVAILABLE', 'memory sink: unavailable', {
          retriable: true,
        })
      let inserted = 0
      const duplicateLines: number[] = []
      const rows = 'body' in batch.rows ? decodeEvents(batch.rows) : batch.rows
      // Repeats within the batch are caught here too: the first one's id is already in `ids`.
      for (const [line, row] of rows.entries()) {
        const k = eventKey(row.tenant, row.event_id)
        if (ids.has(k)) {
          duplicateLines.push(line)
          continue
        }
        ids.add(k)
        sink.rows.push(row)
        inserted += 1
      }
      for (const r of batch.rejected) {
        if (rejectionIds.has(r.rejection_id)) continue
        rejectionIds.add(r.rejection_id)
        sink.rejected.push(r)
      }
      return {
        inserted,
        duplicates: rows.length - inserted,
        duplicateLines,
        rejected: batch.rejected.length,
      }
    },
    async ping() {
      return sink.available
    },
  }
  return sink
}
