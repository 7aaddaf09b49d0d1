/**
 * Where processed batches go. The ClickHouse sink makes a write idempotent: events already stored
 * are filtered out first (so rollups never count a redelivered event), and each insert carries a
 * deduplication token derived from its content (so a retried insert lands once).
 */
import { createHash } from 'node:crypto'
import type { Storage } from '../storage/client.js'
import { mapStorageError } from '../storage/errors.js'
import { toDateTime64, type EventRow } from '../storage/event-row.js'
import {
  encodeEvents,
  insertEncodedEvents,
  type EncodedEvents,
  type EventIdentities,
} from '../storage/events-store.js'
import { loadQuery, quoteIdentifier } from '../storage/sql.js'
import type { RejectedRow } from './rejected-row.js'
import { eventKey, storedIds } from './stored-ids.js'

export interface SinkBatch {
  /** The valid events: rows, or rows already encoded (the consumer's validation worker). */
  rows: readonly EventRow[] | EncodedEvents
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

/** The batch's events in encoded form. */
function encodedRows(rows: SinkBatch['rows']): EncodedEvents {
  return 'body' in rows ? rows : encodeEvents(rows)
}

/** The lines without repeats (the first occurrence kept), and each one's event key. */
function uniqueLines(events: EventIdentities): { lines: number[]; keys: string[] } {
  const seen = new Set<string>()
  const lines: number[] = []
  const keys: string[] = []
  for (let i = 0; i < events.tenants.length; i++) {
    const k = eventKey(events.tenants[i]!, events.eventIds[i]!)
    if (seen.has(k)) continue
    seen.add(k)
    lines.push(i)
    keys.push(k)
  }
  return { lines, keys }
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

  async function existing(events: EventIdentities, lines: readonly number[]): Promise<Set<string>> {
    if (lines.length === 0) return new Set()
    let from = events.occurredAt[lines[0]!]!
    let to = from
    const ids = new Array<string>(lines.length)
    for (let j = 0; j < lines.length; j++) {
      const at = events.occurredAt[lines[j]!]!
      if (at < from) from = at
      if (at > to) to = at
      ids[j] = events.eventIds[lines[j]!]!
    }
    try {
      const rs = await storage.client.query({
        query: loadQuery('existing-event-ids', storage.database),
        query_params: { ids, from, to },
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
      const events = encodedRows(batch.rows)
      const unique = uniqueLines(events)
      const stored = await existing(
        events,
        filter ? await filter.candidates(events, unique.lines) : unique.lines,
      )
      let fresh = unique.lines
      let freshKeys = unique.keys
      if (stored.size > 0) {
        fresh = []
        freshKeys = []
        for (let j = 0; j < unique.lines.length; j++)
          if (!stored.has(unique.keys[j]!)) {
            fresh.push(unique.lines[j]!)
            freshKeys.push(unique.keys[j]!)
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
      const total = events.tenants.length
      // Every line, or only the fresh ones when some were stored or repeated.
      await insertEncodedEvents(storage, events, fresh.length === total ? undefined : fresh, {
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
        duplicates: total - fresh.length,
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
