/**
 * The embedded engine as a pool of chdb connections on one data directory, with query parameters
 * bound by the engine through `SET param_<name>` on the connection that runs the query.
 *
 * Why a pool: chdb 3.4 runs one query at a time per connection, so four analysts on one connection
 * wait for each other's queries (four concurrent 100 ms sleeps took 416 ms); connections opened on
 * the same directory share the engine, its data and caches, and run in parallel.
 *
 * Why not chdb's own parameter binding: chdb serializes every parameterized query of the process
 * through one chain, because libchdb's per-call parameter set/reset is not isolated between
 * connections (its own comment: wrong values, or an engine abort, under concurrency). A `SET
 * param_x` is session state of its connection, like any other `SET`, and 400 concurrent queries on
 * two connections each read back their own values (tested). The SQL keeps its `{name:Type}`
 * placeholders and the engine binds and type-checks the values exactly as a server does for the
 * HTTP `param_x` of a server request: the value text is the one `@clickhouse/client` sends (its
 * own formatter), quoted as a string literal (`\`, `'` and NUL escaped).
 *
 * Parameters stay set on a connection after its query, so a query whose SQL names a placeholder
 * without a value would silently get an earlier query's value; every placeholder therefore must
 * have a value, else the query is refused before it reaches the engine.
 */
import { formatQueryParams } from '@clickhouse/client-common'
import { createChdbConnection, type ChdbConnection } from 'chdb/connection'

type QueryParams = Parameters<ChdbConnection['query']>[0]
type ExecParams = Parameters<ChdbConnection['exec']>[0]
type InsertParams = Parameters<ChdbConnection['insert']>[0]
type RawInsertParams = Parameters<ChdbConnection['chdb']['rawInsert']>[0]

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const PLACEHOLDER = /\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:/g

/** A ClickHouse single-quoted string literal of any text (no way out of the quotes). */
export function quoteLiteral(text: string): string {
  return `'${text.replace(/[\\'\0]/g, (c) => (c === '\0' ? '\\0' : `\\${c}`))}'`
}

/**
 * `sql` preceded by one `SET param_<name> = '<value>'` per parameter. Throws when a parameter name
 * is not an identifier or a placeholder of `sql` has no value.
 */
export function bindParams(sql: string, params: Record<string, unknown> | undefined): string {
  const given = params ?? {}
  for (const m of sql.matchAll(PLACEHOLDER))
    if (!Object.hasOwn(given, m[1]!)) throw new Error(`query parameter ${m[1]} has no value`)
  const sets: string[] = []
  for (const [name, value] of Object.entries(given)) {
    if (!PARAM_NAME.test(name)) throw new Error(`query parameter name ${JSON.stringify(name)}`)
    sets.push(`SET param_${name} = ${quoteLiteral(formatQueryParams({ value }))}`)
  }
  return sets.length === 0 ? sql : `${sets.join('; ')}; ${sql}`
}

/** Every query is checked, with or without parameters: a connection may hold earlier values. */
function bound<P extends QueryParams>(params: P): P {
  return { ...params, query: bindParams(params.query, params.query_params), query_params: {} }
}

interface Slot {
  connection: ChdbConnection
  running: number
}

/** Implements the Connection interface of `@clickhouse/client` over `size` chdb connections. */
export class ChdbPool {
  readonly connectionName = 'chdb-pool'
  readonly supportsZeroCopyStreaming = false
  readonly #slots: Slot[]
  #turn = 0

  constructor(path: string, size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`pool size ${size}`)
    this.#slots = []
    try {
      for (let i = 0; i < size; i++)
        this.#slots.push({ connection: createChdbConnection({ path }), running: 0 })
    } catch (err) {
      void Promise.all(this.#slots.map((s) => s.connection.close()))
      throw err
    }
  }

  get size(): number {
    return this.#slots.length
  }

  /** The least busy connection (ties in turn), held for the call. */
  async #on<T>(fn: (c: ChdbConnection) => Promise<T>): Promise<T> {
    let best: Slot | undefined
    for (let i = 0; i < this.#slots.length; i++) {
      const slot = this.#slots[(this.#turn + i) % this.#slots.length]!
      if (!best || slot.running < best.running) best = slot
    }
    this.#turn = (this.#turn + 1) % this.#slots.length
    best!.running++
    try {
      return await fn(best!.connection)
    } finally {
      best!.running--
    }
  }

  query(params: QueryParams) {
    return this.#on((c) => c.query(bound(params)))
  }

  exec(params: ExecParams) {
    return this.#on((c) => c.exec(bound(params)))
  }

  command(params: QueryParams) {
    return this.#on((c) => c.command(bound(params)))
  }

  insert(params: InsertParams) {
    return this.#on((c) => c.insert(params))
  }

  /** chdb's raw insert (the bytes go to the engine as they are) on the least busy connection. */
  rawInsert(params: RawInsertParams) {
    return this.#on((c) => c.chdb.rawInsert(params))
  }

  ping(params: Parameters<ChdbConnection['ping']>[0]) {
    return this.#on((c) => c.ping(params))
  }

  async close(): Promise<void> {
    await Promise.all(this.#slots.map((s) => s.connection.close()))
  }

  get serverVersion(): Promise<string> {
    return this.#slots[0]!.connection.serverVersion
  }

  get serverTimezone(): Promise<string> {
    return this.#slots[0]!.connection.serverTimezone
  }

  mapError(err: unknown): Error {
    return this.#slots[0]!.connection.mapError(err)
  }
}
