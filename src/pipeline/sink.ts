/**
 * Where processed batches go. The ClickHouse sink makes a write idempotent: events already stored
 * are filtered out first (so rollups never count a redelivered event), and each insert carries a
 * deduplication token derived from its content (so a retried insert lands once).
 */
import { createHash } from 'node:crypto'
import type { Storage } from '../storage/client.js'
import { mapStorageError } from '../storage/errors.js'
import { toDateTime64, type EventRow } from '../storage/event-row.js'
import { insertEventRows } from '../storage/events-store.js'
import { loadQuery, quoteIdentifier } from '../storage/sql.js'
import type { RejectedRow } from './rejected-row.js'
import { eventKey, storedIds } from './stored-ids.js'

export interface SinkBatch {
  rows: readonly EventRow[]
  rejected: readonly RejectedRow[]
}

export interface SinkResult {
  inserted: number
  /** events of the batch that were already stored, or repeated within it */
  duplicates: number
  rejected: number
}

export interface EventSink {
  /** Durable when it resolves; throws StorageError (retriable for outages) otherwise. */
  write(batch: SinkBatch): Promise<SinkResult>
  ping(): Promise<boolean>
}

/** Drop repeats within a batch, keeping the first occurrence. */
export function uniqueRows(rows: readonly EventRow[]): EventRow[] {
  return uniqueKeyed(rows).rows
}

/** The rows without repeats, and each one's event key (computed once per row). */
function uniqueKeyed(rows: readonly EventRow[]): { rows: EventRow[]; keys: string[] } {
  const seen = new Set<string>()
  const out: EventRow[] = []
  const keys: string[] = []
  for (const r of rows) {
    const k = eventKey(r.tenant, r.event_id)
    if (seen.has(k)) continue
    seen.add(k)
    out.push(r)
    keys.push(k)
  }
  return { rows: out, keys }
}

/** A deduplication token for a set of ids: the same set gives the same token, in any order. */
function contentToken(prefix: string, ids: readonly string[]): string {
  const hash = createHash('sha256')
  // Each id followed by a line feed, hashed in one update (the bytes of one update per id).
  if (ids.length > 0) hash.update(`${[...ids].sort().join('\n')}\n`)
  return `${prefix}:${hash.digest('base64url')}`
}

export function createClickHouseSink(storage: Storage): EventSink {
  const db = quoteIdentifier(storage.database)
  // Embedded: new ids are told apart in memory, and only the rest is looked up (see stored-ids).
  const filter = storage.mode === 'embedded' ? storedIds(storage) : undefined

  async function existing(rows: readonly EventRow[]): Promise<Set<string>> {
    if (rows.length === 0) return new Set()
    let from = rows[0]!.occurred_at
    let to = from
    for (const r of rows) {
      if (r.occurred_at < from) from = r.occurred_at
      if (r.occurred_at > to) to = r.occurred_at
    }
    try {
      const rs = await storage.client.query({
        query: loadQuery('existing-event-ids', storage.database),
        query_params: { ids: rows.map((r) => r.event_id), from, to },
        format: 'JSONEachRow',
      })
      const found = await rs.json<{ tenant: string; id: string }>()
      return new Set(found.map((f) => eventKey(f.tenant, f.id)))
    } catch (err) {
      throw mapStorageError(err, 'look up stored event ids')
    }
  }

  return {
    async write(batch) {
      const unique = uniqueKeyed(batch.rows)
      const stored = await existing(filter ? await filter.candidates(unique.rows) : unique.rows)
      let fresh = unique.rows
      let freshKeys = unique.keys
      if (stored.size > 0) {
        fresh = []
        freshKeys = []
        for (let i = 0; i < unique.rows.length; i++)
          if (!stored.has(unique.keys[i]!)) {
            fresh.push(unique.rows[i]!)
            freshKeys.push(unique.keys[i]!)
          }
      }
      if (batch.rejected.length > 0) {
        try {
          await storage.insert(`${db}.rejected_events`, batch.rejected, {
            insert_deduplication_token: contentToken(
              'rejected',
              batch.rejected.map((r) => r.rejection_id),
            ),
          })
        } catch (err) {
          throw mapStorageError(err, 'insert into rejected_events')
        }
      }
      await insertEventRows(storage, fresh, {
        dedupToken: contentToken('events', freshKeys),
        // received_at is sent as the time of this insert (never earlier than the row's). Scheduled
        // rules close a window of received_at `latenessMs` (5 s) after its end, so what must stay
        // short is the time from the stamp to the row being visible. Stamped when its chunk was
        // validated, a row waited behind the writes queued before it (and every retry of an
        // outage), and under load it could land in a window already evaluated: seen by no
        // scheduled rule.
        receivedNotBefore: toDateTime64(Date.now()),
      })
      return {
        inserted: fresh.length,
        duplicates: batch.rows.length - fresh.length,
        rejected: batch.rejected.length,
      }
    },
    async ping() {
      try {
        return (await storage.client.ping()).success
      } catch {
        return false
      }
    },
  }
}
