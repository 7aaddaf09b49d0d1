/**
 * The one storage factory: a `@clickhouse/client` client that talks HTTP to a ClickHouse server
 * when a URL is configured, else runs the embedded engine of the `chdb` package under the data dir.
 */
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { Readable } from 'node:stream'
import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client'
import { ChdbPool } from './chdb-pool.js'
import { clickhouseRepositories } from './clickhouse-repositories.js'
import type { Repositories } from './repositories.js'

type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>

export type StorageMode = 'embedded' | 'server'

export interface StorageOptions {
  /** ClickHouse server URL; absent means the embedded engine. */
  url?: string
  user?: string
  password?: string
  database: string
  cluster?: string
  /** Root of the embedded engine's files (`<dataDir>/clickhouse`). */
  dataDir: string
}

/**
 * The connection to ClickHouse: only `src/storage` (the repositories, migrations, the events
 * insert path) and tests or benches use it. The rest of audtrail gets a Storage.
 */
export interface ClickHouseConnection {
  client: ClickHouseClient
  mode: StorageMode
  database: string
  cluster?: string
  /**
   * Insert rows as JSONEachRow. The embedded engine takes the bytes natively (chdb's raw insert:
   * about 2.5x the rate of the generic connection path); a server gets a normal HTTP insert.
   * Settings given here apply to this insert only.
   */
  insert(table: string, rows: readonly object[], settings?: ClickHouseSettings): Promise<void>
  /**
   * Insert rows already encoded as JSONCompactEachRow (UTF-8 bytes): one JSON array per line, its
   * values in `columns` order. For the hot path (events), where objects keyed by column name cost
   * twice the serialization time of positional arrays.
   */
  insertEncoded(
    table: string,
    columns: readonly string[],
    body: Uint8Array,
    settings?: ClickHouseSettings,
  ): Promise<void>
  close(): Promise<void>
}

/**
 * What audtrail reads and writes through: the repositories (one typed function per named query,
 * see repositories.ts), the mode and database for logs, and close. It does not hand out the
 * connection: only ClickHouseStorage (what createStorage returns, for src/storage, tests and
 * benches) carries it.
 */
export interface Storage extends Repositories {
  mode: StorageMode
  database: string
  cluster?: string
  close(): Promise<void>
}

/** What createStorage returns: the repositories over ClickHouse and the connection they use. */
export type ClickHouseStorage = Storage & ClickHouseConnection

/** The connection behind a Storage (inside src/storage only; tests and benches may use it). */
export function connectionOf(storage: Storage | ClickHouseConnection): ClickHouseConnection {
  const s = storage as Partial<ClickHouseConnection>
  if (s.client === undefined || typeof s.insertEncoded !== 'function')
    throw new TypeError('storage: not a ClickHouse storage')
  return storage as ClickHouseConnection
}

/** The repositories over a connection, and the connection: one object. */
/**
 * The storage over one kind of connection: the database and cluster of the options, and empty
 * inserts skipped here (a server or the embedded engine would be sent an empty body).
 */
function withRepositories(
  options: StorageOptions,
  kind: Omit<ClickHouseConnection, 'database' | 'cluster'>,
): ClickHouseStorage {
  const connection: ClickHouseConnection = {
    ...kind,
    database: options.database,
    cluster: options.cluster,
    insert: async (table, rows, settings) => {
      if (rows.length > 0) await kind.insert(table, rows, settings)
    },
    insertEncoded: async (table, columns, body, settings) => {
      if (body.byteLength > 0) await kind.insertEncoded(table, columns, body, settings)
    },
  }
  return { ...connection, ...clickhouseRepositories(connection) }
}

/**
 * Settings sent with every request. `async_insert` defaults to 1 in current ClickHouse: an insert
 * must be durable before offsets are committed, so it is switched off explicitly.
 *
 * The embedded engine's connection applies per-request settings as session-wide `SET`s that stay
 * in force for later requests (seen with chdb 3.4.0): a deduplication token given to one insert
 * would silently drop the next insert without one. Every setting any request may change is
 * therefore given here, so each request starts from these values again.
 */
export const BASE_SETTINGS: ClickHouseSettings = {
  async_insert: 0,
  wait_for_async_insert: 1,
  insert_deduplicate: 1,
  insert_deduplication_token: '',
  deduplicate_blocks_in_dependent_materialized_views: 1,
  date_time_input_format: 'best_effort',
  output_format_json_quote_64bit_integers: 0,
  // The events insert turns it off for itself (events-store.ts); every other request has it on.
  optimize_on_insert: 1,
}

/**
 * Connections of the embedded engine: chdb runs one query at a time per connection, so this is how
 * many queries (API requests, the sink's inserts and lookups, scheduled rules) run at once. Four
 * keep two cores busy while some wait on I/O or on the event loop.
 */
export const EMBEDDED_CONNECTIONS = 4

export function createStorage(options: StorageOptions): ClickHouseStorage {
  if (options.url) {
    const client = createClient({
      url: options.url,
      username: options.user ?? 'default',
      password: options.password ?? '',
      clickhouse_settings: BASE_SETTINGS,
      application: 'audtrail',
    })
    return withRepositories(options, {
      client,
      mode: 'server',
      insert: async (table, rows, settings) => {
        await client.insert({
          table,
          values: rows as object[],
          format: 'JSONEachRow',
          clickhouse_settings: settings,
        })
      },
      insertEncoded: async (table, columns, body, settings) => {
        // client.insert takes JSON formats only as objects to serialize; exec sends the bytes
        // as the request body, the statement (which names only our own columns) as a parameter.
        const result = await client.exec({
          query: `INSERT INTO ${table} (${columns.join(', ')}) FORMAT JSONCompactEachRow`,
          values: Readable.from([body], { objectMode: false }),
          clickhouse_settings: settings,
        })
        // The response of an insert is empty: read it to its end to free the connection.
        for await (const chunk of result.stream) void chunk
      },
      close: () => client.close(),
    })
  }
  // The embedded engine allows one data directory per process; EMBEDDED_CONNECTIONS connections
  // on it run queries in parallel (see chdb-pool.ts).
  const path = resolve(options.dataDir, 'clickhouse')
  mkdirSync(path, { recursive: true })
  const connection = new ChdbPool(path, EMBEDDED_CONNECTIONS)
  const client = createClient({
    // The pool implements the Connection interface of @clickhouse/client-common, which
    // @clickhouse/client bundles as its own copy: same shape, distinct declarations.
    connection: connection as unknown as ClientConnection,
    clickhouse_settings: BASE_SETTINGS,
  })
  return withRepositories(options, {
    client,
    mode: 'embedded',
    insert: async (table, rows, settings) => {
      const body = Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n'))
      await connection.rawInsert(rawInsert(table, undefined, 'JSONEachRow', body, settings))
    },
    insertEncoded: async (table, columns, body, settings) => {
      await connection.rawInsert(rawInsert(table, columns, 'JSONCompactEachRow', body, settings))
    },
    close: () => client.close(),
  })
}

/** chdb's raw insert of `body`: the base insert settings, then the call's own. */
function rawInsert(
  table: string,
  columns: readonly string[] | undefined,
  format: 'JSONEachRow' | 'JSONCompactEachRow',
  body: Uint8Array,
  settings: ClickHouseSettings | undefined,
) {
  const perInsert: Record<string, string | number | boolean> = {}
  for (const [k, v] of Object.entries({ ...INSERT_SETTINGS, ...settings }))
    if (v !== undefined) perInsert[k] = v as string | number | boolean
  return {
    table,
    ...(columns ? { columns: [...columns] } : {}),
    values: Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    format,
    settings: perInsert,
  }
}

/** The insert-relevant base settings, given explicitly to the embedded engine's raw insert. */
const INSERT_SETTINGS: ClickHouseSettings = {
  async_insert: 0,
  insert_deduplicate: 1,
  insert_deduplication_token: '',
  deduplicate_blocks_in_dependent_materialized_views: 1,
  date_time_input_format: 'best_effort',
  optimize_on_insert: 1,
}
