/**
 * Which event ids the embedded engine may already hold, answered in memory so that a chunk of new
 * events skips the lookup in `events` (a scan that grows with the table).
 *
 * The embedded engine belongs to this process, and every insert into `events` goes through
 * prepareEventsInsert, or resendEventsInsert for what an earlier process left in the sink's
 * journal, which report their events here before they are sent. So for every hour of occurred_at
 * from `completeFrom` on, the filters hold a superset of the stored (tenant, event_id) pairs: an
 * id they do not hold is certainly not stored. Everything else (older hours, and ids the
 * filter may hold) is looked up in ClickHouse as before, so the answer is the same as the lookup's.
 * A ClickHouse server has other writers: this is never used there.
 */
import type { Storage } from '../storage/client.js'
import { mapStorageError } from '../storage/errors.js'
import { observeEventInserts, type EventIdentities } from '../storage/events-store.js'
import { loadQuery } from '../storage/sql.js'
import { ScalableBloom } from './bloom.js'

/** Hours of occurred_at kept before the current one; older events are looked up in ClickHouse. */
const KEEP_HOURS = 2
/** A restart loads the ids of the kept hours; beyond this many it gives those hours up. */
const MAX_LOAD = 1_000_000

const HOUR_MS = 3_600_000
/** Sorts after every hour: nothing is answered from memory. */
const NEVER = '9999-12-31 23'
/** `YYYY-MM-DD HH`: the hour of a DateTime64 text, which sorts like the time it names. */
const hourOf = (dateTime64: string) => dateTime64.slice(0, 13)
const hourAt = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 13)
/** An event's identity across tenants: the same event_id may occur in two tenants. */
export const eventKey = (tenant: string, eventId: string) => `${tenant}\u0000${eventId}`

export interface StoredIds {
  /** Of the events at `lines`, those that may be stored already (to look up); the others are new. */
  candidates(events: EventIdentities, lines: readonly number[]): Promise<number[]>
  /** Ids held in memory. */
  held(): number
}

const filters = new Map<string, StoredIds>()

/** The filter of this process's embedded engine for `storage.database` (one per database). */
export function storedIds(storage: Storage): StoredIds {
  let filter = filters.get(storage.database)
  if (filter === undefined) {
    filter = createStoredIds(storage)
    filters.set(storage.database, filter)
  }
  return filter
}

function createStoredIds(storage: Storage): StoredIds {
  const hours = new Map<string, ScalableBloom>()
  // Hours before this one are looked up in ClickHouse; it only moves forward.
  let completeFrom = hourAt(Date.now() - KEEP_HOURS * HOUR_MS)

  function addOne(tenant: string, eventId: string, occurredAt: string) {
    const hour = hourOf(occurredAt)
    if (hour < completeFrom) return
    let bloom = hours.get(hour)
    if (bloom === undefined) hours.set(hour, (bloom = new ScalableBloom()))
    bloom.add(eventKey(tenant, eventId))
  }
  function add(events: EventIdentities, lines: readonly number[] | undefined) {
    const { tenants, eventIds, occurredAt } = events
    if (lines) for (const i of lines) addOne(tenants[i]!, eventIds[i]!, occurredAt[i]!)
    else for (let i = 0; i < tenants.length; i++) addOne(tenants[i]!, eventIds[i]!, occurredAt[i]!)
  }
  // From now on every insert is recorded before it is sent, so that the ids of an insert in
  // flight read as possibly stored; what was stored before is loaded next.
  observeEventInserts(storage.database, add)

  async function load() {
    for (;;) {
      const rs = await storage.client.query({
        query: loadQuery('stored-event-ids', storage.database),
        query_params: { since: `${completeFrom}:00:00.000`, limit: MAX_LOAD + 1 },
        format: 'JSONCompactEachRow',
      })
      const found = await rs.json<[string, string, string]>()
      if (found.length <= MAX_LOAD) {
        for (const [tenant, eventId, occurredAt] of found) addOne(tenant, eventId, occurredAt)
        return
      }
      // Too many to hold: answer from memory only for the hours to come (after loading those),
      // and when even they hold too many, never.
      const next = hourAt(Date.now() + HOUR_MS)
      completeFrom = completeFrom < next ? next : NEVER
      for (const h of [...hours.keys()]) if (h < completeFrom) hours.delete(h)
      if (completeFrom === NEVER) return
    }
  }
  let loading: Promise<void> | undefined
  // A failed load is tried again by the next call; nothing is answered from memory before.
  const loaded = () =>
    (loading ??= load().catch((err: unknown) => {
      loading = undefined
      throw mapStorageError(err, 'load stored event ids')
    }))

  function forget(now: number) {
    const cutoff = hourAt(now - KEEP_HOURS * HOUR_MS)
    if (cutoff <= completeFrom) return
    completeFrom = cutoff
    for (const h of [...hours.keys()]) if (h < completeFrom) hours.delete(h)
  }

  return {
    async candidates(events, lines) {
      await loaded()
      forget(Date.now())
      const { tenants, eventIds, occurredAt } = events
      return lines.filter((i) => {
        const hour = hourOf(occurredAt[i]!)
        if (hour < completeFrom) return true
        return hours.get(hour)?.has(eventKey(tenants[i]!, eventIds[i]!)) ?? false
      })
    },
    held() {
      let ids = 0
      for (const b of hours.values()) ids += b.size
      return ids
    },
  }
}
