/**
 * Where processed batches go. The ClickHouse sink makes a write idempotent: events already stored
 * are filtered out first (so rollups never count a redelivered event), and each insert carries a
 * deduplication token derived from its content (so a retried insert lands once). An insert that
 * was sent and not acknowledged is sent again, the same bytes with the same token, before any
 * lookup: its events may be stored while some rollups missed them (see insert-journal).
 */
import { createHash } from 'node:crypto'
import type { Storage } from '../storage/client.js'
import { toDateTime64, type EventRow } from '../events/event-row.js'
import {
  encodeEvents,
  type EncodedEvents,
  type EventIdentities,
  type EventsInsert,
} from '../storage/events-store.js'
import type { Logger } from '../logger.js'
import { createInsertJournal, type InsertJournal } from './insert-journal.js'
import type { RejectedRow } from '../events/rejected-row.js'
import { eventKey, storedIds } from './stored-ids.js'
import type { Chainer, InsertLinks } from '../integrity/chainer.js'
import type { Checkpointer } from '../integrity/checkpoint.js'

export interface SinkBatch {
  /** The valid events: rows, or rows already encoded (the consumer's validation worker). */
  rows: readonly EventRow[] | EncodedEvents
  rejected: readonly RejectedRow[]
  /**
   * Where the events were read, naming their chain (docs/integrity.md): `kafka:<topic>:<partition>`
   * from the consumer; `http` when absent.
   */
  source?: string
}

export interface SinkResult {
  inserted: number
  /** events of the batch that were already stored, or repeated within it */
  duplicates: number
  /** Those events' positions in the batch's rows, in order (a repeat's first occurrence is not one). */
  duplicateLines: number[]
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

/** The lines of 0..total-1 that are not in `lines` (ascending). */
function missing(lines: readonly number[], total: number): number[] {
  const kept = new Uint8Array(total)
  for (const line of lines) kept[line] = 1
  const out: number[] = []
  for (let i = 0; i < total; i++) if (kept[i] === 0) out.push(i)
  return out
}

/** A deduplication token for a set of ids: the same set gives the same token, in any order. */
function contentToken(prefix: string, ids: readonly string[]): string {
  const hash = createHash('sha256')
  // Each id followed by a line feed, hashed in one update (the bytes of one update per id).
  if (ids.length > 0) hash.update(`${[...ids].sort().join('\n')}\n`)
  return `${prefix}:${hash.digest('base64url')}`
}

export interface ClickHouseSinkOptions {
  /**
   * Where unacknowledged inserts are kept across a crash (`<AUDTRAIL_DATA_DIR>/insert-journal` for
   * the commands that ingest). Without it, only this process's failed inserts are replayed.
   */
  journalDir?: string
  logger?: Logger
  /**
   * The tamper-evident chain (docs/integrity.md): each new event gets its link in the insert that
   * stores it, and the checkpointer signs the acknowledged heads. With it, writes run one at a
   * time (the lookup that finds an event new and the link it gets are one step).
   */
  integrity?: { chainer: Chainer; checkpointer?: Checkpointer }
}

export function createClickHouseSink(
  storage: Storage,
  options: ClickHouseSinkOptions = {},
): EventSink {
  const journal: InsertJournal = createInsertJournal(options.journalDir, options.logger)
  /** One replay at a time (concurrent writes share it). */
  let replaying: Promise<void> | undefined
  // Embedded: new ids are told apart in memory, and only the rest is looked up (see stored-ids).
  const filter = storage.mode === 'embedded' ? storedIds(storage) : undefined
  const chaining = options.integrity
  /** The links of this process's chained inserts not yet acknowledged (sent again from the journal). */
  const unacknowledged = new Map<EventsInsert, InsertLinks>()
  /** The tail of the writes, when chaining (one at a time). */
  let tail: Promise<unknown> = Promise.resolve()

  async function existing(events: EventIdentities, lines: readonly number[]): Promise<Set<string>> {
    if (lines.length === 0) return new Set()
    const tenants = new Set<string>()
    const ids = new Array<string>(lines.length)
    for (let j = 0; j < lines.length; j++) {
      tenants.add(events.tenants[lines[j]!]!)
      ids[j] = events.eventIds[lines[j]!]!
    }
    const found = await storage.events.existingIds([...tenants], ids)
    return new Set(found.map((f) => eventKey(f.tenant, f.id)))
  }

  /** Send every pending insert again; one that fails stays pending and fails the write. */
  async function replayPending(): Promise<void> {
    for (const entry of await journal.pending()) {
      // This process's own failed inserts were reported to the observers when first prepared.
      if (entry.earlier) await storage.events.resendInsert(entry.insert)
      else await storage.events.sendInsert(entry.insert)
      acknowledge(entry.insert)
      await journal.end(entry)
    }
  }
  function replay(): Promise<void> {
    replaying ??= replayPending().finally(() => (replaying = undefined))
    return replaying
  }

  function acknowledge(insert: EventsInsert): void {
    const links = unacknowledged.get(insert)
    if (!links || !chaining) return
    unacknowledged.delete(insert)
    chaining.chainer.acknowledge(links)
  }

  async function afterInsert(): Promise<void> {
    // A checkpoint that cannot be written now is written with a later one: the events are stored.
    await chaining?.checkpointer
      ?.afterInsert()
      .catch((err: unknown) =>
        options.logger?.error({ err: String(err) }, 'integrity: checkpoint not written'),
      )
  }

  return {
    write(batch) {
      if (!chaining) return writeOnce(batch)
      const run = tail.then(() => writeOnce(batch))
      tail = run.catch(() => undefined)
      return run
    },
    ping: () => storage.ping(),
  }

  async function writeOnce(batch: SinkBatch): Promise<SinkResult> {
    // Before the lookup: the events of an unacknowledged insert would read as stored.
    await replay()
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
    if (batch.rejected.length > 0)
      await storage.events.insertRejected(
        batch.rejected,
        contentToken(
          'rejected',
          batch.rejected.map((r) => r.rejection_id),
        ),
      )
    const total = events.tenants.length
    // Every line, or only the fresh ones when some were stored or repeated.
    let insert = storage.events.prepareInsert(events, fresh.length === total ? undefined : fresh, {
      dedupToken: contentToken('events', freshKeys),
      // received_at is sent as the time of this insert (never earlier than the row's).
      // Scheduled rules close a window of received_at `latenessMs` (5 s) after its end, so
      // what must stay short is the time from the stamp to the row being visible. Stamped
      // when its chunk was validated, a row waited behind the writes queued before it (and
      // every retry of an outage), and under load it could land in a window already
      // evaluated: seen by no scheduled rule.
      receivedNotBefore: toDateTime64(Date.now()),
    })
    if (insert) {
      let links: InsertLinks | undefined
      if (chaining) {
        const linked = chaining.chainer.link(insert, batch.source ?? 'http')
        insert = linked.insert
        links = linked.links
      }
      let entry
      try {
        entry = await journal.begin(insert)
      } catch (err) {
        // Never sent: the next insert takes these positions.
        if (links) chaining!.chainer.rollback(links)
        throw err
      }
      if (links) unacknowledged.set(insert, links)
      try {
        await storage.events.sendInsert(insert)
      } catch (err) {
        journal.fail(entry)
        throw err
      }
      acknowledge(insert)
      await journal.end(entry)
      if (links) await afterInsert()
    }
    return {
      inserted: fresh.length,
      duplicates: total - fresh.length,
      duplicateLines: fresh.length === total ? [] : missing(fresh, total),
      rejected: batch.rejected.length,
    }
  }
}
