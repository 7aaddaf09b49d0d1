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
 *
 * Settings and parameters are session state, so each connection remembers what it holds and a call
 * sends only the `SET`s that change it (each `SET` is a statement of its own: twenty of them cost
 * about 1.5 ms of engine time, as much as a small query). Calls on one connection run one after
 * another, so the state a call sees is the one its statements run on; after a failure the
 * state is forgotten and the next call sends everything.
 */
import { formatQueryParams } from '@clickhouse/client-common'
import { createChdbConnection, type ChdbConnection } from 'chdb/connection'

type QueryParams = Parameters<ChdbConnection['query']>[0]
type ExecParams = Parameters<ChdbConnection['exec']>[0]
type InsertParams = Parameters<ChdbConnection['insert']>[0]
type Statement = QueryParams | ExecParams | InsertParams
type RawInsertParams = Parameters<ChdbConnection['chdb']['rawInsert']>[0]

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const PLACEHOLDER = /\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:/g

/** A ClickHouse single-quoted string literal of any text (no way out of the quotes). */
export function quoteLiteral(text: string): string {
  return `'${text.replace(/[\\'\0]/g, (c) => (c === '\0' ? '\\0' : `\\${c}`))}'`
}

/**
 * Parameters travel in the query text here (a server gets them out of band), so a query with a
 * long list (the detector's finding ids) passes the default 256 KiB `max_query_size`; every
 * pooled connection parses up to 64 MiB.
 */
const MAX_QUERY_SIZE = 64 * 1024 * 1024

/** Settings that chdb's connection does not `SET` (format options, HTTP-only settings). */
const NOT_SET = new Set([
  'default_format',
  'wait_end_of_query',
  'send_progress_in_http_headers',
  'http_response_buffer_size',
  'http_headers_progress_interval_ms',
  'http_send_progress_interval_ms',
  'enable_http_compression',
  'http_zlib_compression_level',
  'http_response_compression_method',
  'http_native_compression_disable_checksumming_on_decompress',
])

function settingLiteral(value: unknown): string {
  if (typeof value === 'number') return String(value)
  if (typeof value === 'boolean') return value ? '1' : '0'
  return quoteLiteral(String(value))
}

interface Slot {
  connection: ChdbConnection
  /** Calls given to this connection and not finished (running or waiting their turn). */
  running: number
  /** The previous call's end: calls on one connection run one after another. */
  tail: Promise<unknown>
  /**
   * What this connection's session holds, `setting:<name>` and `param:<name>` to the SQL literal
   * last set: a call sends only the `SET`s that change something. Emptied after any failure,
   * when the statements that ran are unknown.
   */
  state: Map<string, string>
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
        this.#slots.push({
          connection: createChdbConnection({ path }),
          running: 0,
          tail: Promise.resolve(),
          state: new Map(),
        })
    } catch (err) {
      void Promise.all(this.#slots.map((s) => s.connection.close()))
      throw err
    }
  }

  get size(): number {
    return this.#slots.length
  }

  /**
   * Runs `fn` on the least busy connection (ties in turn) when that connection's earlier calls
   * have ended. chdb runs one call per connection at a time anyway; queueing here as well keeps
   * the session state known to the call that sends its `SET`s.
   */
  async #on<T>(fn: (slot: Slot) => Promise<T>): Promise<T> {
    let best: Slot | undefined
    for (let i = 0; i < this.#slots.length; i++) {
      const slot = this.#slots[(this.#turn + i) % this.#slots.length]!
      if (!best || slot.running < best.running) best = slot
    }
    this.#turn = (this.#turn + 1) % this.#slots.length
    const slot = best!
    slot.running++
    const run = slot.tail.then(() => fn(slot))
    slot.tail = run.then(
      () => undefined,
      () => slot.state.clear(),
    )
    try {
      return await run
    } finally {
      slot.running--
    }
  }

  /**
   * The call as the slot's connection gets it: the `SET`s of settings and parameters its session
   * does not hold yet, then the SQL, with no settings or parameters left for chdb to bind (its
   * own binding is the process-wide serialized one). Every placeholder must have a value.
   */
  #prepare<P extends Statement>(slot: Slot, params: P): { call: P; commit: () => void } {
    const given = params.query_params ?? {}
    for (const m of params.query.matchAll(PLACEHOLDER))
      if (!Object.hasOwn(given, m[1]!)) throw new Error(`query parameter ${m[1]} has no value`)
    const sets: string[] = []
    const changes: [string, string][] = []
    const passed: Record<string, unknown> = {}
    const settings = { max_query_size: MAX_QUERY_SIZE, ...params.clickhouse_settings }
    for (const [name, value] of Object.entries(settings)) {
      if (value === undefined) continue
      if (NOT_SET.has(name)) {
        passed[name] = value
        continue
      }
      if (!PARAM_NAME.test(name)) throw new Error(`setting name ${JSON.stringify(name)}`)
      const literal = settingLiteral(value)
      if (slot.state.get(`setting:${name}`) === literal) continue
      sets.push(`SET ${name} = ${literal}`)
      changes.push([`setting:${name}`, literal])
    }
    for (const [name, value] of Object.entries(given)) {
      if (!PARAM_NAME.test(name)) throw new Error(`query parameter name ${JSON.stringify(name)}`)
      const literal = quoteLiteral(formatQueryParams({ value }))
      if (slot.state.get(`param:${name}`) === literal) continue
      sets.push(`SET param_${name} = ${literal}`)
      changes.push([`param:${name}`, literal])
    }
    const query = sets.length === 0 ? params.query : `${sets.join('; ')}; ${params.query}`
    return {
      call: { ...params, query, query_params: {}, clickhouse_settings: passed },
      commit: () => {
        for (const [k, v] of changes) slot.state.set(k, v)
      },
    }
  }

  async #statement<P extends Statement, R>(
    params: P,
    run: (c: ChdbConnection, call: P) => Promise<R>,
  ): Promise<R> {
    return this.#on(async (slot) => {
      const { call, commit } = this.#prepare(slot, params)
      const result = await run(slot.connection, call)
      commit()
      return result
    })
  }

  query(params: QueryParams) {
    return this.#statement(params, (c, call) => c.query(call))
  }

  exec(params: ExecParams) {
    return this.#statement(params, (c, call) => c.exec(call))
  }

  command(params: QueryParams) {
    return this.#statement(params, (c, call) => c.command(call))
  }

  insert(params: InsertParams) {
    return this.#statement(params, (c, call) => c.insert(call))
  }

  /** chdb's raw insert: the bytes go to the engine as they are, its settings in the statement
   * (`INSERT ... SETTINGS`), which leaves the session's settings alone. */
  rawInsert(params: RawInsertParams) {
    return this.#on((slot) => slot.connection.chdb.rawInsert(params))
  }

  ping(params: Parameters<ChdbConnection['ping']>[0]) {
    return this.#on((slot) => slot.connection.ping(params))
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
