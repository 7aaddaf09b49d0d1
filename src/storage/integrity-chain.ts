/**
 * The hash chain of stored events (docs/integrity.md).
 *
 * Canonical form of a stored event: the RFC 8785 (JCS) serialisation of the object holding every
 * column of its `events` row by name, except the chain's own columns (CHAIN_COLUMNS) and received_at (in the link), and except
 * the members whose value is empty: null, '', [] or {}. It is computed from the row generically
 * (the column names the insert carries, the column names a `SELECT *` reads back), never from a
 * list of fields, so a column added by a later migration is covered as soon as an insert carries
 * it. Leaving the empty values out is what keeps the rows chained before a column was added
 * verifiable after it: the new column reads back as its default ('' or NULL), which is left out
 * as it was absent when the link was computed. (A column added with a non-empty default, such as
 * a number 0 or false, would break that: such a column needs a default of NULL or '' instead.)
 * An edit from a value to empty, or back, still changes the form: the member appears or goes.
 *
 * received_at is not in the canonical form but in the link: it is stamped at the insert itself
 * (the sink raises it in the encoded bytes), after the digest was taken where the row was encoded
 * (EncodedEventsBuilder, in the consumer's validation worker), so the main thread only reads it.
 *
 * digest = SHA-256(canonical form), link = SHA-256("audtrail-chain-v1" LF chain_id LF position
 * LF previous link LF received_at LF digest), all lowercase hex; the first link's previous is 64
 * zeros. The tenant is a column of the row, so it is in the digest; the chain id and position are
 * in the link, so moving a row to another place changes what its link must be.
 */
import { canonicalJson } from '../events/canonical.js'
import { hash } from 'node:crypto'

/** The chain's columns of `events` (migration 0015), in the order an insert appends them. */
export const CHAIN_COLUMNS = ['chain_id', 'chain_seq', 'chain_prev', 'chain_hash'] as const
/** Not in the digest: the chain's own columns, and received_at (in the link itself, see linkHash). */
const NOT_DIGESTED = new Set<string>([...CHAIN_COLUMNS, 'received_at'])
export const GENESIS = '0'.repeat(64)
export const CHAIN_VERSION = 'audtrail-chain-v1'
export const CANONICAL_FORM =
  'RFC 8785 (JCS) of the row by column name, without the chain columns and received_at, and without null, empty string, empty array and empty object members'

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined || value === '') return true
  if (Array.isArray(value)) return value.length === 0
  if (typeof value === 'object') return Object.keys(value).length === 0
  return false
}

/** How to write a row given as values in `columns` order: the members in JCS (sorted) order. */
interface Layout {
  /** Indexes into the values, in sorted column-name order, chain columns left out. */
  order: number[]
  /** Their names. */
  names: string[]
  /** Each member's start as JCS writes it: the name in JSON and a colon. */
  keys: string[]
}
const layouts = new WeakMap<readonly string[], Layout>()

function layoutOf(columns: readonly string[]): Layout {
  let layout = layouts.get(columns)
  if (layout) return layout
  const order = columns
    .map((c, i) => [c, i] as const)
    // A column named __proto__ never was a member: the object the form was first built as took
    // it for its prototype. Kept so, so that a chain computed either way verifies.
    .filter(([c]) => !NOT_DIGESTED.has(c) && c !== '__proto__')
    // JCS sorts member names by UTF-16 code units: the default sort of JavaScript strings.
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, i]) => i)
  const names = order.map((i) => columns[i]!)
  layout = { order, names, keys: names.map((n) => `${JSON.stringify(n)}:`) }
  layouts.set(columns, layout)
  return layout
}

/** A name V8 orders before the others in an object (an array index): JSON.stringify would too. */
const INDEX_LIKE = /^(?:0|[1-9][0-9]*)$/

/**
 * `value` with the members of every object in it inserted in JCS order (UTF-16 code units), so
 * that JSON.stringify writes it as RFC 8785 does: JSON.stringify writes strings, finite numbers,
 * booleans and null exactly as JCS, and objects' members in insertion order. Undefined when an
 * object has a member named like an array index (V8 would put it first whatever the order).
 */
function sortedForJcs(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    let plain = true
    for (const x of value) if (x !== null && typeof x === 'object') plain = false
    if (plain) return value
    const out = value.map(sortedForJcs)
    return out.includes(undefined) ? undefined : out
  }
  const record = value as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(record).sort()) {
    if (INDEX_LIKE.test(k)) return undefined
    const v = sortedForJcs(record[k])
    if (v === undefined) return undefined
    out[k] = v
  }
  return out
}

/** A string JSON.stringify writes as is between quotes: no quote, backslash, control or surrogate. */
// eslint-disable-next-line no-control-regex -- the control characters are what JSON escapes
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/

/**
 * The canonical form of a row given as its values in `columns` order, written member by member
 * (the names' JSON precomputed per column list, each value as JSON.stringify writes it, which is
 * JCS for strings, finite numbers, booleans and null): building an object of some seventy members
 * for one JSON.stringify cost more: with this and crypto.hash, the digest at encoding went from
 * 12.0-15.8 to 4.3-7.0 us per event in bench:integrity (docs/integrity.md#cost).
 */
export function canonicalValues(columns: readonly string[], values: readonly unknown[]): string {
  const { order, keys } = layoutOf(columns)
  let out = '{'
  for (let j = 0; j < order.length; j++) {
    const v = values[order[j]!]
    let text: string
    switch (typeof v) {
      case 'string':
        if (v === '') continue
        text = PLAIN.test(v) ? `"${v}"` : JSON.stringify(v)
        break
      case 'number':
        // An infinity or NaN has no JSON form: the general serializer says so.
        if (!Number.isFinite(v)) return slowCanonical(columns, values)
        text = JSON.stringify(v)
        break
      case 'boolean':
        text = v ? 'true' : 'false'
        break
      case 'undefined':
        continue
      case 'object': {
        if (isEmpty(v)) continue
        const sorted = sortedForJcs(v)
        // An object that JSON.stringify cannot write in JCS order: the general serializer.
        if (sorted === undefined) return slowCanonical(columns, values)
        text = JSON.stringify(sorted)
        break
      }
      default:
        return slowCanonical(columns, values)
    }
    out += out.length === 1 ? `${keys[j]!}${text}` : `,${keys[j]!}${text}`
  }
  return `${out}}`
}

/** canonicalValues by the general RFC 8785 serializer (events/canonical.ts). */
function slowCanonical(columns: readonly string[], values: readonly unknown[]): string {
  const { order, names } = layoutOf(columns)
  const out: Record<string, unknown> = {}
  for (let j = 0; j < order.length; j++) {
    const v = values[order[j]!]
    if (!isEmpty(v)) out[names[j]!] = v
  }
  return canonicalJson(out)
}

/** The canonical form of a row given as an object (what a `SELECT *` in JSONEachRow reads). */
let lastColumns: string[] = []
export function canonicalRow(row: Readonly<Record<string, unknown>>): string {
  // Rows read back share their column list: one array for them keeps the layout cached.
  const keys = Object.keys(row)
  const columns =
    keys.length === lastColumns.length && keys.every((k, i) => k === lastColumns[i])
      ? lastColumns
      : (lastColumns = keys)
  return canonicalValues(
    columns,
    columns.map((c) => row[c]),
  )
}

/** One-shot (crypto.hash, Node 20.12 and later; engines asks 20.19): no Hash object per digest. */
export const sha256Hex = (text: string): string => hash('sha256', text, 'hex')

/** The digest of a row given as its values in `columns` order. */
export const eventDigest = (columns: readonly string[], values: readonly unknown[]): string =>
  sha256Hex(canonicalValues(columns, values))

/**
 * The link of the event with `digest`, received at `receivedAt` (its DateTime64 text as stored),
 * at `seq` of `chain`, after `prev`.
 */
export function linkHash(
  chain: string,
  seq: number,
  prev: string,
  receivedAt: string,
  digest: string,
): string {
  return sha256Hex(`${CHAIN_VERSION}\n${chain}\n${seq}\n${prev}\n${receivedAt}\n${digest}`)
}
