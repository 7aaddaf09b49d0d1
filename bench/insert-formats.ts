/**
 * bench:insert-formats — the same bench rows inserted into `events` (the production schema, its
 * rollup views, migrated in a temp data dir) in several formats, in 40 000-row inserts with the
 * events insert's settings (issue 30, lever 2: encode less). Per arm and round: the JS encoding's
 * CPU per event (one thread, from EventRow values to the bytes sent: what the validation worker
 * would pay) and the engine's (the whole process's CPU, every thread, over the inserts), arms
 * interleaved in rounds (the order rotates), medians over the rounds; one JSON line at the end.
 *
 * Arms (each into its own database, all rows of a round the same):
 * - `json`: today's path (encodeEvents + insertEncodedEvents: JSONCompactEachRow, 72 columns);
 * - `json_sparse`: JSONCompactEachRow of only the columns some row of the insert sets (the
 *   engine fills the others with their type's default, which is what the row holds for them);
 * - `tsv_sparse`: TabSeparated, the same columns (chdb's public raw insert takes TSV);
 * - `rowbinary`, `rowbinary_sparse`: RowBinary encoded in JS, all or the set columns. chdb's raw
 *   insert whitelists text formats only and its native entry is not binary safe, so the bytes are
 *   written to a file in memory (/dev/shm) and inserted `FROM INFILE` (the write is counted in the
 *   engine's part);
 * - `peer_shape`: the peer's shape (bench/peer-kafka-engine.sql): one JSON object per line, the
 *   validated event as JSON with the values only JS derives (canonical forms, drift keys, the aud
 *   match, received_at) in one extra member, into a Null table whose materialized view extracts
 *   the columns with JSONExtract. Its view is written for the bench's event type (token.presented).
 *   Sent through chdb's native raw entry (JSONAsString is not in its whitelist).
 *
 * Arrow and Parquet are not measured: chdb 3.4 has no Arrow input (its README: "Arrow scan ...
 * follow-up"), so they would also go through a file, after an encoder this repository lacks.
 *
 * `BENCH_EVENTS` (per arm per round, default 120 000), `BENCH_ROUNDS` (default 3), `BENCH_ARMS`.
 * Background merges are stopped for the run: they cost the same whatever the format, and would
 * land on whichever arm runs next.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Session } from 'chdb'
import { toEventRow, type EventRow } from '../src/events/event-row.js'
import { parseEvent } from '../src/events/parse.js'
import type { AuditEvent } from '../src/events/schema.js'
import { createStorage, type ClickHouseStorage } from '../src/storage/client.js'
import {
  ENCODED_COLUMNS,
  EVENTS_INSERT_SETTINGS,
  encodeEvents,
  insertEncodedEvents,
} from '../src/storage/events-store.js'
import { migrate } from '../src/storage/migrate.js'
import { benchEvent } from './events.js'

export const RETENTION = { eventsDays: 400, rejectedDays: 30, findingsDays: 730 }
const INSERT_ROWS = 40_000

// ---- the engine: a chdb session beside the storage's pool ---------------------------------

const nativeRequire = createRequire(import.meta.url)
/**
 * chdb's native addon. Its raw insert entry takes any statement prefix with the data; chdb's JS API
 * allows it only the text formats of its whitelist (JSONAsString is not among them). It is not
 * binary safe (RowBinary rows starting with a line feed or following a zero byte were cut short,
 * chdb 3.4.0), so binary data goes through a file instead (FROM INFILE).
 */
const native = nativeRequire(
  join(dirname(nativeRequire.resolve('chdb')), 'dist/loader.js'),
).loadNative() as {
  InsertRawAsyncConnection(
    connection: unknown,
    prefix: string,
    data: Buffer,
    countLines: boolean,
  ): Promise<{ rowsWritten?: number }>
}

/** Where binary inserts are written for FROM INFILE: memory (tmpfs) when the system has it. */
const SPOOL = join(
  existsSync('/dev/shm') ? '/dev/shm' : tmpdir(),
  `insert-formats-${process.pid}.bin`,
)

/** The settings every events insert is sent with (client.ts's INSERT_SETTINGS, then the events'). */
function insertSettings(token: string): Record<string, string | number> {
  return {
    async_insert: 0,
    insert_deduplicate: 1,
    insert_deduplication_token: token,
    deduplicate_blocks_in_dependent_materialized_views: 1,
    date_time_input_format: 'best_effort',
    ...EVENTS_INSERT_SETTINGS,
  }
}

const literal = (v: string | number) => (typeof v === 'number' ? String(v) : `'${v}'`)

type Format = 'JSONCompactEachRow' | 'TSV' | 'RowBinary' | 'JSONAsString'

/**
 * Insert `body` (in `format`) into `table` with the events insert's settings: text formats
 * through chdb's raw insert (its public API where the format is whitelisted, else its native
 * entry), RowBinary through a file in memory and `FROM INFILE`.
 */
async function sendBody(
  session: Session,
  table: string,
  columns: readonly string[] | undefined,
  format: Format,
  body: Buffer,
  token: string,
): Promise<void> {
  const settings = insertSettings(token)
  if (format === 'JSONCompactEachRow' || format === 'TSV') {
    await session.insert({
      table,
      ...(columns ? { columns: [...columns] } : {}),
      values: body,
      format,
      settings,
    })
    return
  }
  const set = Object.entries(settings)
    .map(([k, v]) => `${k}=${literal(v)}`)
    .join(', ')
  const cols = columns ? ` (${columns.join(', ')})` : ''
  if (format === 'JSONAsString') {
    const prefix = `INSERT INTO ${table}${cols} SETTINGS ${set} FORMAT ${format}`
    await native.InsertRawAsyncConnection(session.connection, prefix, body, false)
    return
  }
  writeFileSync(SPOOL, body)
  try {
    await sessionQuery(
      session,
      `INSERT INTO ${table}${cols} FROM INFILE '${SPOOL}' SETTINGS ${set} FORMAT ${format}`,
    )
  } finally {
    rmSync(SPOOL, { force: true })
  }
}

export async function sessionQuery(session: Session, sql: string): Promise<string> {
  const r = (await session.queryAsync(sql, { format: 'TSV' })) as unknown as {
    text(): string
  }
  return r.text()
}

// ---- encoders ----------------------------------------------------------------------------

type Column = keyof EventRow

/** Whether a row's value is what the engine stores for a column left out (its type's default). */
function isDefault(v: unknown): boolean {
  if (v === '' || v === null || v === false || v === 0) return true
  if (Array.isArray(v)) return v.length === 0
  if (typeof v === 'object') {
    for (const _ in v) return false
    return true
  }
  return false
}

/** The columns (ENCODED_COLUMNS order) that some row sets; the others are left to the engine. */
export function usedColumns(rows: readonly EventRow[]): Column[] {
  return ENCODED_COLUMNS.filter((c) => rows.some((r) => !isDefault(r[c])))
}

/** A growing byte buffer, never from Node's shared pool. */
class Bytes {
  buf = Buffer.allocUnsafeSlow(1 << 20)
  at = 0
  ensure(n: number) {
    if (this.at + n <= this.buf.byteLength) return
    const grown = Buffer.allocUnsafeSlow(Math.max(this.at + n, this.buf.byteLength * 2))
    this.buf.copy(grown, 0, 0, this.at)
    this.buf = grown
  }
  line(text: string) {
    this.ensure(text.length * 3 + 1)
    this.at += this.buf.write(text, this.at)
    this.buf[this.at++] = 0x0a
  }
  done(): Buffer {
    return this.buf.subarray(0, this.at)
  }
}

/** JSONCompactEachRow of `columns` (keyed reads: the production encoder reads field by field). */
function encodeJsonColumns(rows: readonly EventRow[], columns: readonly Column[]): Buffer {
  const out = new Bytes()
  for (const r of rows) {
    const values = new Array<unknown>(columns.length)
    for (let i = 0; i < columns.length; i++) values[i] = r[columns[i]!]
    out.line(JSON.stringify(values))
  }
  return out.done()
}

// TabSeparated: a field's text with \ tab LF CR NUL escaped; strings inside arrays and maps quoted.
const TSV_SPECIAL = /[\\\t\n\r\0]/
const TSV_QUOTED_SPECIAL = /[\\'\t\n\r\0]/
const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\0': '\\0',
}
const escapeChar = (c: string) => ESCAPES[c]!
const tsvText = (s: string) => (TSV_SPECIAL.test(s) ? s.replace(/[\\\t\n\r\0]/g, escapeChar) : s)
const tsvQuoted = (s: string) =>
  TSV_QUOTED_SPECIAL.test(s) ? `'${s.replace(/[\\'\t\n\r\0]/g, escapeChar)}'` : `'${s}'`

type TsvWriter = (v: never) => string

function tsvWriter(type: string): TsvWriter {
  const lc = /^LowCardinality\((.*)\)$/.exec(type)
  if (lc) return tsvWriter(lc[1]!)
  const nullable = /^Nullable\((.*)\)$/.exec(type)
  if (nullable) {
    const inner = tsvWriter(nullable[1]!) as (v: unknown) => string
    return ((v: unknown) => (v === null ? '\\N' : inner(v))) as TsvWriter
  }
  if (type === 'Array(String)')
    return ((v: string[]) =>
      v.length === 0 ? '[]' : `[${v.map(tsvQuoted).join(',')}]`) as TsvWriter
  if (type === 'Map(String, String)')
    return ((v: Record<string, string>) => {
      let s = ''
      for (const k in v) s += `${s === '' ? '' : ','}${tsvQuoted(k)}:${tsvQuoted(v[k]!)}`
      return `{${s}}`
    }) as TsvWriter
  if (type === 'Bool') return ((v: boolean) => (v ? 'true' : 'false')) as TsvWriter
  if (/^U?Int\d+$/.test(type)) return ((v: number) => String(v)) as TsvWriter
  if (type === 'String' || type === 'UUID' || type.startsWith('DateTime64'))
    return tsvText as TsvWriter
  throw new Error(`tsv: no writer for ${type}`)
}

function encodeTsv(rows: readonly EventRow[], columns: readonly Column[], types: ColumnTypes) {
  const writers = columns.map((c) => tsvWriter(types.get(c)!) as (v: unknown) => string)
  const out = new Bytes()
  for (const r of rows) {
    let line = writers[0]!(r[columns[0]!])
    for (let i = 1; i < columns.length; i++) line += `\t${writers[i]!(r[columns[i]!])}`
    out.line(line)
  }
  return out.done()
}

// RowBinary: strings as LEB128 length and UTF-8, integers little-endian, Nullable a flag byte
// first, UUID as its two 64-bit halves each little-endian, DateTime64(3) as Int64 milliseconds.
type BinWriter = (out: Bytes, v: never) => void

function writeVarint(out: Bytes, n: number) {
  while (n >= 0x80) {
    out.buf[out.at++] = (n & 0x7f) | 0x80
    n >>>= 7
  }
  out.buf[out.at++] = n
}

function writeString(out: Bytes, s: string) {
  const len = s.length
  out.ensure(len * 3 + 5)
  const buf = out.buf
  if (len < 16) {
    // Short strings: the code units as bytes when all are ASCII (no call into C++).
    const start = out.at
    let at = start + 1
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i)
      if (c >= 0x80) {
        at = -1
        break
      }
      buf[at++] = c
    }
    if (at >= 0) {
      buf[start] = len
      out.at = at
      return
    }
  }
  if (len < 128) {
    // One length byte reserved; when the UTF-8 form is 128 bytes or more, the bytes move up.
    const n = buf.write(s, out.at + 1)
    if (n < 128) {
      buf[out.at] = n
      out.at += 1 + n
      return
    }
    const extra = n < 1 << 14 ? 1 : 2
    buf.copyWithin(out.at + 1 + extra, out.at + 1, out.at + 1 + n)
    writeVarint(out, n)
    out.at += n
    return
  }
  const n = Buffer.byteLength(s)
  writeVarint(out, n)
  out.at += buf.write(s, out.at)
}

function writeInt64(out: Bytes, v: number) {
  out.ensure(8)
  out.buf.writeUInt32LE(v >>> 0, out.at)
  out.buf.writeInt32LE(Math.floor(v / 4294967296), out.at + 4)
  out.at += 8
}

/** A hex digit's value by its character code (-1: not a hex digit). */
const HEX = new Int8Array(128).fill(-1)
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i
}
/** Where each of a UUID's 16 bytes has its two hex digits in its 36-character text. */
const UUID_DIGITS = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34]
/** A UUID's text as ClickHouse's binary form: the high and low 64 bits, each little-endian. */
function writeUuid(out: Bytes, s: string) {
  out.ensure(16)
  if (s.length !== 36) throw new Error(`not a UUID: ${s}`)
  for (let i = 0; i < 16; i++) {
    const d = UUID_DIGITS[i]!
    const hi = HEX[s.charCodeAt(d)]
    const lo = HEX[s.charCodeAt(d + 1)]
    if (hi === undefined || lo === undefined || hi < 0 || lo < 0)
      throw new Error(`not a UUID: ${s}`)
    out.buf[out.at + (i < 8 ? 7 - i : 23 - i)] = (hi << 4) | lo
  }
  out.at += 16
}

let lastDateText = ''
let lastDateMs = 0
/** 'YYYY-MM-DD hh:mm:ss.sss' (UTC) as milliseconds since the epoch. */
function dateMs(text: string): number {
  if (text !== lastDateText) {
    lastDateMs = Date.parse(`${text.replace(' ', 'T')}Z`)
    if (Number.isNaN(lastDateMs)) throw new Error(`not a DateTime64 text: ${text}`)
    lastDateText = text
  }
  return lastDateMs
}

function binWriter(type: string): BinWriter {
  const lc = /^LowCardinality\((.*)\)$/.exec(type)
  if (lc) return binWriter(lc[1]!)
  const nullable = /^Nullable\((.*)\)$/.exec(type)
  if (nullable) {
    const inner = binWriter(nullable[1]!) as (out: Bytes, v: unknown) => void
    return ((out: Bytes, v: unknown) => {
      out.ensure(1)
      if (v === null) out.buf[out.at++] = 1
      else {
        out.buf[out.at++] = 0
        inner(out, v)
      }
    }) as BinWriter
  }
  switch (type) {
    case 'String':
      return writeString as BinWriter
    case 'UUID':
      return writeUuid as BinWriter
    case 'UInt8':
    case 'Bool':
      return ((out: Bytes, v: number | boolean) => {
        out.ensure(1)
        out.buf[out.at++] = Number(v)
      }) as BinWriter
    case 'UInt16':
      return ((out: Bytes, v: number) => {
        out.ensure(2)
        out.buf.writeUInt16LE(v, out.at)
        out.at += 2
      }) as BinWriter
    case 'Int64':
      return writeInt64 as BinWriter
    case 'Array(String)':
      return ((out: Bytes, v: string[]) => {
        out.ensure(5)
        writeVarint(out, v.length)
        for (const s of v) writeString(out, s)
      }) as BinWriter
    case 'Map(String, String)':
      return ((out: Bytes, v: Record<string, string>) => {
        const keys = Object.keys(v)
        out.ensure(5)
        writeVarint(out, keys.length)
        for (const k of keys) {
          writeString(out, k)
          writeString(out, v[k]!)
        }
      }) as BinWriter
  }
  if (/^DateTime64\(3(, '[^']*')?\)$/.test(type))
    return ((out: Bytes, v: string) => writeInt64(out, dateMs(v))) as BinWriter
  throw new Error(`rowbinary: no writer for ${type}`)
}

function encodeRowBinary(
  rows: readonly EventRow[],
  columns: readonly Column[],
  types: ColumnTypes,
) {
  const writers = columns.map((c) => binWriter(types.get(c)!) as (out: Bytes, v: unknown) => void)
  const out = new Bytes()
  for (const r of rows) for (let i = 0; i < columns.length; i++) writers[i]!(out, r[columns[i]!])
  return out.done()
}

/**
 * The peer's shape: the validated event as one JSON object per line, with what only JS derives in
 * one extra member `_d` (its order: PEER_DERIVED).
 */
function encodePeerShape(rows: readonly EventRow[], events: readonly AuditEvent[]) {
  const out = new Bytes()
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!
    const json = JSON.stringify(events[i])
    const derived = JSON.stringify([
      r.received_at,
      r.token_aud_canonical,
      r.presented_aud_canonical,
      r.presented_aud_drift,
      r.resource_canonical,
      r.resource_drift_key,
      r.resource_valid,
      r.aud_match,
      r.attributes,
    ])
    out.line(`${json.slice(0, -1)},"_d":${derived}}`)
  }
  return out.done()
}

/**
 * The peer's view (bench/peer-kafka-engine.sql) with our derivations: the columns of a
 * token.presented event extracted from the JSON, the JS-only ones read from `_d`. Only the bench's
 * event type: the other types' members (requested_resources, granted_aud, actor, ...) would each
 * need their own extraction and event-type condition, as toEventRow has them.
 */
export function peerShapeSql(db: string): string[] {
  return [
    `CREATE TABLE ${db}.events_in (raw String) ENGINE = Null`,
    `CREATE MATERIALIZED VIEW ${db}.events_in_mv TO ${db}.events AS
SELECT
    JSONExtractString(raw, 'tenant') AS tenant,
    toUUID(JSONExtractString(raw, 'event_id')) AS event_id,
    JSONExtractString(raw, 'event_type') AS event_type,
    toUInt8(JSONExtractUInt(raw, 'schema_version')) AS schema_version,
    parseDateTime64BestEffort(JSONExtractString(raw, 'occurred_at'), 3, 'UTC') AS occurred_at,
    parseDateTime64BestEffort(JSONExtractString(raw, '_d', 1), 3, 'UTC') AS received_at,
    JSONExtractString(raw, 'source', 'kind') AS source_kind,
    JSONExtractString(raw, 'source', 'id') AS source_id,
    JSONExtractString(raw, 'issuer') AS issuer,
    JSONExtractString(raw, 'client_id') AS client_id,
    JSONExtractString(raw, 'subject') AS subject,
    JSONExtractString(raw, 'session_id') AS session_id,
    if(JSONHas(raw, 'token', 'jti'), JSONExtractString(raw, 'token', 'jti'), JSONExtractString(raw, 'token', 'fingerprint')) AS token_key,
    multiIf(JSONHas(raw, 'token', 'jti'), 'jti', JSONHas(raw, 'token', 'fingerprint'), 'fingerprint', '') AS token_key_kind,
    JSONExtractString(raw, 'token', 'jti') AS token_jti,
    JSONExtractString(raw, 'token', 'fingerprint') AS token_fingerprint,
    JSONExtract(raw, 'token', 'iat', 'Nullable(Int64)') AS token_iat,
    JSONExtract(raw, 'token', 'exp', 'Nullable(Int64)') AS token_exp,
    JSONExtract(raw, 'token', 'aud', 'Array(String)') AS token_aud,
    JSONExtract(raw, '_d', 2, 'Array(String)') AS token_aud_canonical,
    JSONExtract(raw, 'token', 'scopes', 'Array(String)') AS token_scopes,
    JSONExtractString(raw, 'token', 'format') AS token_format,
    JSONExtractString(raw, 'network', 'ip') AS network_ip,
    JSONExtractString(raw, 'network', 'user_agent') AS network_user_agent,
    JSONExtractString(raw, 'resource') AS resource,
    JSONExtractString(raw, '_d', 5) AS resource_canonical,
    JSONExtractString(raw, '_d', 6) AS resource_drift_key,
    JSONExtractBool(raw, '_d', 7) AS resource_valid,
    JSONExtract(raw, 'presented_aud', 'Array(String)') AS presented_aud,
    JSONExtract(raw, '_d', 3, 'Array(String)') AS presented_aud_canonical,
    JSONExtract(raw, '_d', 4, 'Array(String)') AS presented_aud_drift,
    JSONExtractString(raw, '_d', 8) AS aud_match,
    JSONExtract(raw, 'aud_validated', 'Nullable(Bool)') AS aud_validated,
    JSONExtractString(raw, 'decision') AS decision,
    JSONExtractString(raw, 'reason') AS reason,
    JSONExtractString(raw, 'tool', 'method') AS tool_method,
    JSONExtractString(raw, 'tool', 'name') AS tool_name,
    JSONExtractString(raw, 'tool', 'header_method') AS tool_header_method,
    JSONExtractString(raw, 'tool', 'header_name') AS tool_header_name,
    JSONExtractString(raw, 'http', 'method') AS http_method,
    JSONExtractString(raw, 'http', 'path') AS http_path,
    JSONExtract(raw, 'http', 'status', 'Nullable(UInt16)') AS http_status,
    JSONExtract(raw, '_d', 9, 'Map(String, String)') AS attributes,
    JSONExtractString(raw, 'token', 'cnf', 'jkt') AS token_cnf_jkt,
    JSONExtractString(raw, 'token', 'cnf', 'x5t#S256') AS token_cnf_x5t,
    JSONExtractString(raw, 'proof', 'scheme') AS proof_scheme,
    JSONExtractString(raw, 'proof', 'verdict') AS proof_verdict,
    JSONExtractString(raw, 'proof', 'failure') AS proof_failure,
    JSONExtractString(raw, 'proof', 'jti_fingerprint') AS proof_jti,
    JSONExtract(raw, 'proof', 'iat', 'Nullable(Int64)') AS proof_iat,
    JSONExtractString(raw, 'proof', 'htm') AS proof_htm,
    JSONExtractString(raw, 'proof', 'htu') AS proof_htu,
    JSONExtractString(raw, 'proof', 'ath') AS proof_ath,
    JSONExtractString(raw, 'proof', 'alg') AS proof_alg,
    JSONExtractString(raw, 'proof', 'jkt') AS proof_jkt,
    JSONExtractString(raw, 'proof', 'cert_thumbprint') AS proof_cert_x5t
FROM ${db}.events_in`,
  ]
}

// ---- arms --------------------------------------------------------------------------------

export type ColumnTypes = Map<string, string>

/** One insert as encoded: sent by `send` (the encoding is timed apart from the sending). */
interface Encoded {
  bytes: number
  send(token: string): Promise<void>
}

export interface ArmContext {
  storage: ClickHouseStorage
  session: Session
  db: string
  types: ColumnTypes
}

export interface Arm {
  name: string
  /** Extra schema in the arm's database, after the migrations. */
  setup?: (ctx: ArmContext) => Promise<void>
  encode(ctx: ArmContext, rows: readonly EventRow[], events: readonly AuditEvent[]): Encoded
}

const sparseArm = (name: string, format: 'TSV' | 'RowBinary'): Arm => ({
  name,
  encode: (ctx, rows) => {
    const columns = usedColumns(rows)
    const body =
      format === 'TSV'
        ? encodeTsv(rows, columns, ctx.types)
        : encodeRowBinary(rows, columns, ctx.types)
    return {
      bytes: body.byteLength,
      send: (token) => sendBody(ctx.session, `${ctx.db}.events`, columns, format, body, token),
    }
  },
})

export const ARMS: Arm[] = [
  {
    name: 'json',
    encode: (ctx, rows) => {
      const encoded = encodeEvents(rows, { digests: false })
      return {
        bytes: encoded.body.byteLength,
        send: (token) =>
          insertEncodedEvents(ctx.storage, encoded, undefined, { dedupToken: token }),
      }
    },
  },
  {
    name: 'json_sparse',
    encode: (ctx, rows) => {
      const columns = usedColumns(rows)
      const body = encodeJsonColumns(rows, columns)
      return {
        bytes: body.byteLength,
        send: (token) =>
          sendBody(ctx.session, `${ctx.db}.events`, columns, 'JSONCompactEachRow', body, token),
      }
    },
  },
  sparseArm('tsv_sparse', 'TSV'),
  {
    name: 'rowbinary',
    encode: (ctx, rows) => {
      const body = encodeRowBinary(rows, ENCODED_COLUMNS, ctx.types)
      return {
        bytes: body.byteLength,
        send: (token) =>
          sendBody(ctx.session, `${ctx.db}.events`, ENCODED_COLUMNS, 'RowBinary', body, token),
      }
    },
  },
  sparseArm('rowbinary_sparse', 'RowBinary'),
  {
    name: 'peer_shape',
    setup: async (ctx) => {
      for (const sql of peerShapeSql(ctx.db)) await sessionQuery(ctx.session, sql)
    },
    encode: (ctx, rows, events) => {
      const body = encodePeerShape(rows, events)
      return {
        bytes: body.byteLength,
        send: (token) =>
          sendBody(ctx.session, `${ctx.db}.events_in`, undefined, 'JSONAsString', body, token),
      }
    },
  },
]

/** The arm's database, migrated, with its extra schema; `storage` is bound to it. */
export async function openArm(
  arm: Arm,
  dataDir: string,
  session: Session,
  db: string,
): Promise<ArmContext> {
  const storage = createStorage({ database: db, dataDir })
  await migrate(storage, { retention: RETENTION })
  const types: ColumnTypes = new Map()
  const text = await sessionQuery(
    session,
    `SELECT name, type, default_kind FROM system.columns WHERE database = '${db}' AND table = 'events'`,
  )
  for (const line of text.split('\n').filter(Boolean)) {
    const [name, type, defaultKind] = line.split('\t')
    // Leaving a column out stores its type's default only when it has no DEFAULT expression.
    if (defaultKind !== '') throw new Error(`events.${name} has a ${defaultKind} expression`)
    types.set(name!, type!.replace(/\\(.)/g, '$1'))
  }
  const ctx = { storage, session, db, types }
  await arm.setup?.(ctx)
  return ctx
}

/**
 * Bench events, validated and made rows as the worker makes them (one received_at); `overrides`
 * changes members of the i-th event (the test's awkward strings).
 */
export function benchRows(
  n: number,
  receivedAt = Date.now(),
  overrides: (i: number) => Record<string, unknown> = () => ({}),
) {
  const events: AuditEvent[] = []
  const rows: EventRow[] = []
  for (let i = 0; i < n; i++) {
    const parsed = parseEvent(benchEvent(overrides(i)), { json: true })
    if (!parsed.ok) throw new Error(parsed.reasons.join('; '))
    events.push(parsed.event)
    rows.push(toEventRow(parsed.event, { receivedAt }))
  }
  return { events, rows }
}

/** The arm's inserts of `rows` in 40 000-row writes, encoding and sending measured apart. */
export async function runArm(
  ctx: ArmContext,
  arm: Arm,
  rows: readonly EventRow[],
  events: readonly AuditEvent[],
  tokenPrefix: string,
): Promise<{ encodeUs: number; engineUs: number; bytes: number }> {
  let encodeUs = 0
  let engineUs = 0
  let bytes = 0
  for (let i = 0; i < rows.length; i += INSERT_ROWS) {
    const slice = rows.slice(i, i + INSERT_ROWS)
    const sliceEvents = events.slice(i, i + INSERT_ROWS)
    const a = process.cpuUsage()
    const encoded = arm.encode(ctx, slice, sliceEvents)
    const b = process.cpuUsage(a)
    encodeUs += b.user + b.system
    bytes += encoded.bytes
    const c = process.cpuUsage()
    await encoded.send(`${tokenPrefix}-${i}`)
    const d = process.cpuUsage(c)
    engineUs += d.user + d.system
  }
  return { encodeUs, engineUs, bytes }
}

// ---- main --------------------------------------------------------------------------------

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const fig = (x: number) => Math.round(x * 10) / 10

async function main() {
  const n = Number(process.env.BENCH_EVENTS ?? 120_000)
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
  const wanted = process.env.BENCH_ARMS?.split(',')
  const arms = ARMS.filter((a) => !wanted || wanted.includes(a.name))
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-insert-formats-'))
  const load = [loadavg()[0]!]
  try {
    mkdirSync(resolve(dataDir, 'clickhouse'), { recursive: true })
    const session = new Session(resolve(dataDir, 'clickhouse'))
    const contexts = new Map<string, ArmContext>()
    for (const arm of arms)
      contexts.set(arm.name, await openArm(arm, dataDir, session, `bench_${arm.name}`))
    await sessionQuery(session, 'SYSTEM STOP MERGES')
    // One small unmeasured insert per arm first: the encoders' first calls run unoptimized.
    const warm = benchRows(4000)
    for (const arm of arms)
      await runArm(contexts.get(arm.name)!, arm, warm.rows, warm.events, 'warm')
    const results = new Map<string, { encode: number[]; engine: number[]; bytes: number[] }>()
    for (const arm of arms) results.set(arm.name, { encode: [], engine: [], bytes: [] })
    for (let round = 0; round < rounds; round++) {
      const { rows, events } = benchRows(n)
      // The order rotates each round, so that no arm always follows the same one.
      const order = arms.map((_, i) => arms[(i + round) % arms.length]!)
      for (const arm of order) {
        const r = await runArm(contexts.get(arm.name)!, arm, rows, events, `r${round}`)
        const res = results.get(arm.name)!
        res.encode.push(r.encodeUs / n)
        res.engine.push(r.engineUs / n)
        res.bytes.push(r.bytes / n)
        console.log(
          `round ${round + 1} ${arm.name}: encode ${fig(r.encodeUs / n)} us, engine ${fig(r.engineUs / n)} us per event`,
        )
      }
      load.push(loadavg()[0]!)
    }
    const figures: Record<string, number | string> = {
      bench: 'insert-formats',
      events_per_arm_round: n,
      rounds,
      load_min: fig(Math.min(...load)),
      load_max: fig(Math.max(...load)),
    }
    const baseTotal = results.has('json')
      ? median(results.get('json')!.encode) + median(results.get('json')!.engine)
      : NaN
    for (const arm of arms) {
      const res = results.get(arm.name)!
      const encode = median(res.encode)
      const engine = median(res.engine)
      figures[`${arm.name}_encode_us`] = fig(encode)
      figures[`${arm.name}_engine_us`] = fig(engine)
      figures[`${arm.name}_total_us`] = fig(encode + engine)
      figures[`${arm.name}_bytes_per_event`] = Math.round(median(res.bytes))
      if (arm.name !== 'json' && Number.isFinite(baseTotal))
        figures[`${arm.name}_vs_json`] = Math.round(((encode + engine) / baseTotal) * 1000) / 1000
      console.log(
        `${arm.name}: encode ${fig(encode)} + engine ${fig(engine)} = ${fig(encode + engine)} us per event (medians of ${rounds})`,
      )
    }
    for (const ctx of contexts.values()) await ctx.storage.close()
    session.close()
    process.stdout.write(`${JSON.stringify(figures)}\n`)
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  main().then(
    () => process.exit(0),
    (err) => (console.error(err), process.exit(1)),
  )
