/**
 * Which (tenant, event_id) pairs the embedded engine may already hold, answered in memory so that
 * a chunk of new events skips the lookup in `events` (a lookup whose cost grows with the table).
 *
 * An event id names one event whatever its `occurred_at`: a producer that sends another event
 * under an id already stored (an id bug, a replay with a new time) gets `duplicate` and nothing is
 * stored again. So the filter is keyed by identity alone, never by time: it holds a superset of
 * every pair stored in this database, and a pair it does not hold is certainly not stored.
 *
 * The embedded engine belongs to this process, and every insert into `events` goes through
 * prepareEventsInsert, or resendEventsInsert for what an earlier process left in the sink's
 * journal, which report their events here before they are sent. What was stored before the
 * process started is loaded once, in pages, on the first write. A database holding more than
 * MAX_HELD ids is not held at all: then every event is looked up in ClickHouse, as on a server.
 * Memory: about 2 to 4 bytes per id (a scalable Bloom filter at 1e-3 per layer), at most about
 * 64 MiB at MAX_HELD. A ClickHouse server has other writers: this is never used there.
 */
import type { Storage } from '../storage/client.js'
import type { EventIdentities } from '../storage/events-store.js'
import { ScalableBloom } from './bloom.js'

/** Beyond this many stored ids the filter gives up and every event is looked up. */
export const MAX_HELD = 16_000_000
/** Ids loaded per query at start (one page is held as text while it is added). */
const PAGE = 1_000_000
/** A false positive costs one id in a lookup, never a wrong answer. */
const FALSE_POSITIVE_RATE = 1e-3

/** An event's identity across tenants: the same event_id may occur in two tenants. */
export const eventKey = (tenant: string, eventId: string) => `${tenant}\u0000${eventId}`

export interface StoredIds {
  /** Of the events at `lines`, those that may be stored already (to look up); the others are new. */
  candidates(events: EventIdentities, lines: readonly number[]): Promise<number[]>
  /** Ids held in memory (0 once the filter gave up). */
  held(): number
  /** False once the database held more than `maxHeld` ids: every event is then looked up. */
  complete(): boolean
}

export interface StoredIdsOptions {
  /** For tests; MAX_HELD otherwise. */
  maxHeld?: number
  /** Ids loaded per query at start; PAGE otherwise. */
  page?: number
}

const filters = new Map<string, StoredIds>()

/** The filter of this process's embedded engine for `storage.database` (one per database). */
export function storedIds(storage: Storage, options: StoredIdsOptions = {}): StoredIds {
  let filter = filters.get(storage.database)
  if (filter === undefined) {
    filter = createStoredIds(storage, options)
    filters.set(storage.database, filter)
  }
  return filter
}

function createStoredIds(storage: Storage, options: StoredIdsOptions): StoredIds {
  const maxHeld = options.maxHeld ?? MAX_HELD
  const page = options.page ?? PAGE
  let bloom: ScalableBloom | undefined = new ScalableBloom(65_536, FALSE_POSITIVE_RATE)

  function addKey(key: string) {
    if (bloom === undefined) return
    bloom.add(key)
    if (bloom.size > maxHeld) bloom = undefined
  }
  function add(events: EventIdentities, lines: readonly number[] | undefined) {
    const { tenants, eventIds } = events
    if (lines) for (const i of lines) addKey(eventKey(tenants[i]!, eventIds[i]!))
    else for (let i = 0; i < tenants.length; i++) addKey(eventKey(tenants[i]!, eventIds[i]!))
  }
  // From now on every insert is recorded before it is sent, so that the ids of an insert in
  // flight read as possibly stored; what was stored before is loaded next.
  storage.events.observeInserts(add)

  async function load() {
    // Rows, not distinct ids: a part not merged yet may hold a repeat. An upper bound.
    const rows = await storage.events.storedIdCount()
    if (rows > maxHeld) {
      bloom = undefined
      return
    }
    const parts = Math.max(1, Math.ceil(rows / page))
    for (let part = 0; part < parts && bloom !== undefined; part++) {
      for (const [tenant, eventId] of await storage.events.storedIds(parts, part))
        addKey(eventKey(tenant, eventId))
    }
  }
  let loading: Promise<void> | undefined
  // A failed load is tried again by the next call; nothing is answered from memory before.
  const loaded = () =>
    (loading ??= load().catch((err: unknown) => {
      loading = undefined
      throw err
    }))

  return {
    async candidates(events, lines) {
      await loaded()
      const held = bloom
      if (held === undefined) return [...lines]
      const { tenants, eventIds } = events
      return lines.filter((i) => held.has(eventKey(tenants[i]!, eventIds[i]!)))
    },
    held() {
      return bloom?.size ?? 0
    },
    complete() {
      return bloom !== undefined
    },
  }
}
