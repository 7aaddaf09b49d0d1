/** Writes rows to `events` and reads them back; the only code that knows the table's name. */
import type { ClickHouseConnection } from './client.js'
import { EVENT_COLUMNS, type EventRow } from '../events/event-row.js'
import { mapStorageError } from './errors.js'
import { loadQuery, quoteIdentifier } from './sql.js'
import { eventDigest } from './integrity-chain.js'

export interface InsertOptions {
  /**
   * Deterministic token for this exact batch: ClickHouse drops a repeated insert with the same
   * token, so a batch retried after an unacknowledged insert lands once (and so do its rollups).
   */
  dedupToken?: string
  /**
   * Send `received_at` as at least this DateTime64 text, written into the encoded body itself (an
   * insert retried later stamps its own, later time): the sink stamps the time of the insert, see
   * createClickHouseSink.
   */
  receivedNotBefore?: string
}

/** Which events an encoded batch holds, in its line order (what the sink and the id filter read). */
export interface EventIdentities {
  tenants: readonly string[]
  eventIds: readonly string[]
}

/**
 * Events encoded for the insert: JSONCompactEachRow lines in ENCODED_COLUMNS order, as UTF-8
 * bytes. Built once (in the consumer's validation worker, or by encodeEvents), moved between
 * threads without a copy, and inserted as they are: received_at is the first value of every line,
 * so raising it to the time of the insert (see insertEncodedEvents) overwrites bytes in place.
 */
export interface EncodedEvents extends EventIdentities {
  /** The lines, each one ending with a line feed. */
  body: Uint8Array
  /**
   * Each line's digest for the integrity chain (integrity-chain.ts), taken as the row was encoded
   * (in the consumer's validation worker): the sink's chain only reads it.
   */
  digests?: readonly string[]
  /** Where each line starts in `body`, then the length of `body` (one more entry than lines). */
  starts: Uint32Array
}

/**
 * The columns in the order encodeEventRow writes them: EVENT_COLUMNS with received_at moved
 * first, where its text (23 characters, quoted) starts at the third byte of every line.
 */
export const ENCODED_COLUMNS: readonly (keyof EventRow)[] = [
  'received_at',
  ...EVENT_COLUMNS.filter((c) => c !== 'received_at'),
]
const RECEIVED_AT_BYTES = 23
const LINE_FEED = 0x0a

type InsertObserver = (events: EventIdentities, lines: readonly number[] | undefined) => void
const observers = new Map<string, InsertObserver[]>()

/**
 * Call `observer` with the events of every insert into the embedded engine's `events` of
 * `database` (the lines given, or all when undefined), before the insert is sent (the in-memory
 * filter of stored ids relies on seeing every one).
 */
export function observeEventInserts(database: string, observer: InsertObserver): void {
  observers.set(database, [...(observers.get(database) ?? []), observer])
}

/**
 * Builds EncodedEvents a row at a time: each line is written into the body as it is encoded, so
 * that neither the row nor its line outlives the step that made it. (Holding a chunk's rows and
 * lines until a final join kept them alive across collections: garbage collection took 18 % of
 * the validation worker's time.) The body never comes from Node's shared buffer pool, so it can
 * be moved to another thread.
 */
export class EncodedEventsBuilder {
  #body: Buffer
  #at = 0
  readonly #starts: number[] = []
  readonly #tenants: string[] = []
  readonly #eventIds: string[] = []
  readonly #digests: string[] | undefined

  /**
   * `digests`: take each row's digest for the integrity chain (default true; about 10 us per event
   * on the bench events, in the thread that encodes). Without it, a chained insert parses its
   * lines again to take them.
   */
  constructor(capacity = 65_536, options: { digests?: boolean } = {}) {
    this.#digests = options.digests === false ? undefined : []
    this.#body = Buffer.allocUnsafeSlow(Math.max(1024, capacity))
  }

  add(row: EventRow): void {
    const values = encodedValues(row)
    const line = JSON.stringify(values)
    // At most 3 bytes per UTF-16 unit, and the line feed.
    const need = this.#at + line.length * 3 + 1
    if (need > this.#body.byteLength) {
      const grown = Buffer.allocUnsafeSlow(Math.max(need, this.#body.byteLength * 2))
      this.#body.copy(grown, 0, 0, this.#at)
      this.#body = grown
    }
    this.#starts.push(this.#at)
    this.#at += this.#body.write(line, this.#at)
    this.#body[this.#at++] = LINE_FEED
    this.#tenants.push(row.tenant)
    this.#eventIds.push(row.event_id)
    // The digest of the very values the line holds, in ENCODED_COLUMNS order.
    if (this.#digests) this.#digests.push(eventDigest(ENCODED_COLUMNS, values))
  }

  finish(): EncodedEvents {
    const starts = new Uint32Array(this.#starts.length + 1)
    starts.set(this.#starts)
    starts[this.#starts.length] = this.#at
    return {
      // A view of the whole allocation: moving it to another thread moves the allocation.
      body: new Uint8Array(this.#body.buffer, this.#body.byteOffset, this.#at),
      starts,
      tenants: this.#tenants,
      eventIds: this.#eventIds,
      digests: this.#digests,
    }
  }
}

/** Rows to the encoded form (with their digests unless `digests: false`). */
export function encodeEvents(
  rows: readonly EventRow[],
  options: { digests?: boolean } = {},
): EncodedEvents {
  const builder = new EncodedEventsBuilder(rows.length * 1536, options)
  for (const r of rows) builder.add(r)
  return builder.finish()
}

/** The encoded lines as objects again (tests, and sinks that keep rows in memory). */
export function decodeEvents(events: EncodedEvents): EventRow[] {
  const rows: EventRow[] = []
  const text = Buffer.from(events.body.buffer, events.body.byteOffset, events.body.byteLength)
  for (let i = 0; i + 1 < events.starts.length; i++) {
    const values = JSON.parse(text.toString('utf8', events.starts[i], events.starts[i + 1]))
    const row: Record<string, unknown> = {}
    ENCODED_COLUMNS.forEach((c, j) => (row[c] = (values as unknown[])[j]))
    rows.push(row as unknown as EventRow)
  }
  return rows
}

export async function insertEventRows(
  storage: ClickHouseConnection,
  rows: readonly EventRow[],
  options: InsertOptions = {},
): Promise<void> {
  await insertEncodedEvents(storage, encodeEvents(rows), undefined, options)
}

/** An insert into `events` as it is sent: the bytes, their columns and its deduplication token. */
export interface EventsInsert {
  /** Column names in the order of each line's values (always names of EVENT_COLUMNS). */
  columns: readonly string[]
  /** JSONCompactEachRow lines, each ending with a line feed. */
  body: Buffer
  /** '' for none. */
  token: string
  /**
   * Each line's tenant and digest (for the integrity chain), when the insert was made from
   * encoded events that have them; an insert read back from the journal has neither.
   */
  tenants?: readonly string[]
  digests?: readonly string[]
}

/**
 * Insert the encoded events, or only the `lines` given (in that order). With `receivedNotBefore`,
 * each line's received_at that is earlier is overwritten with it in `events.body` itself.
 */
export async function insertEncodedEvents(
  storage: ClickHouseConnection,
  events: EncodedEvents,
  lines: readonly number[] | undefined,
  options: InsertOptions = {},
): Promise<void> {
  const insert = prepareEventsInsert(storage, events, lines, options)
  if (insert) await sendEventsInsert(storage, insert)
}

/**
 * The insert insertEncodedEvents sends (undefined when there is nothing to insert), reported to
 * the observers of inserts as sent already: the sink keeps it to send the very same bytes again.
 */
export function prepareEventsInsert(
  storage: ClickHouseConnection,
  events: EncodedEvents,
  lines: readonly number[] | undefined,
  options: InsertOptions = {},
): EventsInsert | undefined {
  const insert = encodedInsert(events, lines, options)
  if (insert && storage.mode === 'embedded')
    for (const observe of observers.get(storage.database) ?? []) observe(events, lines)
  return insert
}

/** The insert of the encoded events (or only `lines`), undefined when there is nothing to insert. */
export function encodedInsert(
  events: EncodedEvents,
  lines: readonly number[] | undefined,
  options: InsertOptions = {},
): EventsInsert | undefined {
  const count = lines ? lines.length : events.starts.length - 1
  if (count === 0) return undefined
  const body = Buffer.from(events.body.buffer, events.body.byteOffset, events.body.byteLength)
  if (options.receivedNotBefore !== undefined)
    raiseReceivedAt(events, body, options.receivedNotBefore)
  let sent: Buffer = body
  if (lines)
    sent = Buffer.concat(lines.map((i) => body.subarray(events.starts[i], events.starts[i + 1])))
  const digests = events.digests
  return {
    columns: ENCODED_COLUMNS,
    body: sent,
    token: options.dedupToken ?? '',
    tenants: lines ? lines.map((i) => events.tenants[i]!) : events.tenants,
    digests: digests && (lines ? lines.map((i) => digests[i]!) : digests),
  }
}

/**
 * The events insert's own settings. `optimize_on_insert` off: with it on (ClickHouse's default),
 * the engine runs each inserted block through the table's merge (ReplacingMergeTree: a pass that
 * copies every column of every row to drop rows with the same sorting key) before writing it, and
 * merges the part again later anyway. An insert's lines never share a sorting key (it ends with
 * tenant and event_id, and the sink writes each event of a write once), so that pass drops
 * nothing; it cost the engine about 15 us of the insert's 35 per bench event (40 000-row inserts,
 * 2026-12-07, bench/README.md#ingest-cpu-and-the-chains-cost-issues-30-and-29). The rollups fed
 * by the insert are read through their aggregate functions and FINAL, as rows of separate inserts
 * always are. Every other insert starts from the base settings again (storage/client.ts).
 */
export const EVENTS_INSERT_SETTINGS = { optimize_on_insert: 0 } as const

/** Send a prepared insert (again: the same token makes a repeat a no-op where it landed). */
export async function sendEventsInsert(
  storage: ClickHouseConnection,
  insert: EventsInsert,
): Promise<void> {
  try {
    await storage.insertEncoded(
      `${quoteIdentifier(storage.database)}.events`,
      insert.columns,
      insert.body,
      { insert_deduplication_token: insert.token, ...EVENTS_INSERT_SETTINGS },
    )
  } catch (err) {
    throw mapStorageError(err, 'insert into events')
  }
}

/**
 * Send an insert made by an earlier process again (the sink's journal): its events are reported
 * to the observers first, like every insert's, so the in-memory filter of stored ids holds them.
 */
export async function resendEventsInsert(
  storage: ClickHouseConnection,
  insert: EventsInsert,
): Promise<void> {
  if (storage.mode === 'embedded') {
    const observing = observers.get(storage.database) ?? []
    if (observing.length > 0) {
      const identities = identitiesOf(insert)
      for (const observe of observing) observe(identities, undefined)
    }
  }
  await sendEventsInsert(storage, insert)
}

/** The identities of an insert's lines, read back from its bytes. */
export function identitiesOf(insert: EventsInsert): EventIdentities {
  const at = (name: string) => {
    const i = insert.columns.indexOf(name)
    if (i < 0) throw new Error(`events insert: no ${name} column`)
    return i
  }
  const [t, e] = [at('tenant'), at('event_id')]
  const tenants: string[] = []
  const eventIds: string[] = []
  const text = insert.body.toString('utf8')
  for (const line of text.split('\n')) {
    if (line === '') continue
    const values = JSON.parse(line) as unknown[]
    tenants.push(String(values[t]))
    eventIds.push(String(values[e]))
  }
  return { tenants, eventIds }
}

function raiseReceivedAt(events: EncodedEvents, body: Buffer, floor: string) {
  const stamp = Buffer.from(floor, 'latin1')
  if (stamp.byteLength !== RECEIVED_AT_BYTES || !/^[0-9 :.-]+$/.test(floor))
    throw new Error(`receivedNotBefore: not a DateTime64 text: ${floor}`)
  for (let i = 0; i + 1 < events.starts.length; i++) {
    const at = events.starts[i]! + 2
    // Every line starts with ["<received_at>", (encodeEventRow); anything else is a bug.
    if (body[at - 2] !== 0x5b || body[at - 1] !== 0x22 || body[at + RECEIVED_AT_BYTES] !== 0x22)
      throw new Error('encoded events: a line does not start with its received_at')
    if (body.compare(stamp, 0, RECEIVED_AT_BYTES, at, at + RECEIVED_AT_BYTES) < 0)
      stamp.copy(body, at)
  }
}

/**
 * The row as sent: a JSONCompactEachRow line, its values positional in ENCODED_COLUMNS order.
 * Written out field by field, one JSON.stringify of one array per row: 6.4 us per bench event,
 * against 12.9 us for an object of the non-empty columns (JSONEachRow) and 8.1 us for an array
 * filled from the column list.
 */
export function encodeEventRow(r: EventRow): string {
  return JSON.stringify(encodedValues(r))
}

/**
 * The row's values in ENCODED_COLUMNS order: what encodeEventRow writes, and what the chain's
 * digest is taken of at encoding. Read field by field: the loop over the column names it replaced
 * (a keyed read per column) cost the digest 1.3 us per bench event, this 0.4.
 */
export function encodedValues(r: EventRow): unknown[] {
  if (r.received_at.length !== RECEIVED_AT_BYTES)
    throw new Error(`event row: received_at is not a DateTime64 text: ${r.received_at}`)
  return [
    r.received_at,
    r.tenant,
    r.event_id,
    r.event_type,
    r.schema_version,
    r.occurred_at,
    r.source_kind,
    r.source_id,
    r.issuer,
    r.client_id,
    r.subject,
    r.session_id,
    r.token_key,
    r.token_key_kind,
    r.token_jti,
    r.token_fingerprint,
    r.token_iat,
    r.token_exp,
    r.token_aud,
    r.token_aud_canonical,
    r.token_scopes,
    r.token_format,
    r.network_ip,
    r.network_user_agent,
    r.grant_type,
    r.requested_resources,
    r.requested_resources_canonical,
    r.requested_resources_drift,
    r.requested_scopes,
    r.granted_aud,
    r.granted_aud_canonical,
    r.granted_aud_drift,
    r.granted_scopes,
    r.resource,
    r.resource_canonical,
    r.resource_drift_key,
    r.resource_valid,
    r.presented_aud,
    r.presented_aud_canonical,
    r.presented_aud_drift,
    r.aud_match,
    r.aud_validated,
    r.decision,
    r.reason,
    r.tool_method,
    r.tool_name,
    r.tool_header_method,
    r.tool_header_name,
    r.http_method,
    r.http_path,
    r.http_status,
    r.subject_token_key,
    r.subject_token_jti,
    r.subject_token_fingerprint,
    r.actor_subject,
    r.actor_client_id,
    r.actor_token_jti,
    r.actor_token_fingerprint,
    r.attributes,
    // Sender-constrained tokens (migration 0014), in EVENT_COLUMNS order.
    r.token_cnf_jkt,
    r.token_cnf_x5t,
    r.proof_scheme,
    r.proof_verdict,
    r.proof_failure,
    r.proof_jti,
    r.proof_iat,
    r.proof_htm,
    r.proof_htu,
    r.proof_ath,
    r.proof_alg,
    r.proof_jkt,
    r.proof_cert_x5t,
  ]
}

export async function getEventRow(
  storage: ClickHouseConnection,
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
