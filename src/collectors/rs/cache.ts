/** A bounded LRU map whose entries also expire: verified (or decoded) tokens by fingerprint. */

/** Upper bound on an entry's life, whatever the token's `exp` (see `ExpiringLru.set`). */
export const MAX_ENTRY_AGE_MS = 10 * 60_000
/** Default byte budget of one cache (see `weighFacts` for how an entry is weighed). */
export const DEFAULT_CACHE_BYTES = 32 << 20

export class ExpiringLru<V> {
  readonly #max: number
  readonly #maxBytes: number
  #bytes = 0
  readonly #entries = new Map<string, { value: V; until: number; bytes: number; used: number }>()
  /** counts insertions and moves: an entry's `used` says how recently it was put at the back */
  #clock = 0

  /**
   * At most `max` entries (0 disables the cache: nothing is stored, every lookup misses) and at
   * most `maxBytes` of weight, as `set` is told each entry weighs; least recently used out first
   * (recency to within a quarter of `max`: see `get`).
   */
  constructor(max: number, maxBytes = Infinity) {
    this.#max = max
    this.#maxBytes = maxBytes
  }

  get size(): number {
    return this.#entries.size
  }

  /** The weight of the entries held now. */
  get bytes(): number {
    return this.#bytes
  }

  get(key: string, now: number): V | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (entry.until <= now) {
      this.#entries.delete(key)
      this.#bytes -= entry.bytes
      return undefined
    }
    // Moved to the back (most recent) only when a quarter of the cache went in behind it since
    // it last was: a token used on every request is not moved on every request (a Map delete
    // and set each time), and still never nears the front, where eviction takes entries.
    if (this.#clock - entry.used > this.#max / 4) {
      this.#entries.delete(key)
      entry.used = ++this.#clock
      this.#entries.set(key, entry)
    }
    return entry.value
  }

  /**
   * Keeps `value` until `until` (ms since the epoch) but never longer than MAX_ENTRY_AGE_MS: the
   * same horizon as jose's JWKS cache, so a key withdrawn from the JWKS stops vouching for cached
   * tokens within that time rather than at their `exp`. An entry heavier than a tenth of the
   * byte budget is not kept: one hostile token never empties the cache of the others.
   */
  set(key: string, value: V, until: number, now: number, bytes = 0): void {
    if (this.#max === 0 || bytes > this.#maxBytes / 10) return
    const bounded = Math.min(until, now + MAX_ENTRY_AGE_MS)
    if (bounded <= now) return
    const old = this.#entries.get(key)
    if (old !== undefined) {
      this.#entries.delete(key)
      this.#bytes -= old.bytes
    }
    while (
      this.#entries.size > 0 &&
      (this.#entries.size >= this.#max || this.#bytes + bytes > this.#maxBytes)
    ) {
      const [oldestKey, oldest] = this.#entries.entries().next().value!
      this.#entries.delete(oldestKey)
      this.#bytes -= oldest.bytes
    }
    this.#entries.set(key, { value, until: bounded, bytes, used: ++this.#clock })
    this.#bytes += bytes
  }
}

/** Bytes of a string as V8 holds it at worst (two a character), plus an object's header. */
const STRING_OVERHEAD = 32
const ENTRY_OVERHEAD = 512

/**
 * An upper estimate of what an entry holding these strings costs the heap: every string at two
 * bytes a character plus a header, plus a fixed cost for the entry's objects and map slot.
 */
export function weighStrings(strings: Iterable<string | undefined>): number {
  let bytes = ENTRY_OVERHEAD
  for (const s of strings) if (s !== undefined) bytes += STRING_OVERHEAD + 2 * s.length
  return bytes
}

/**
 * A copy of a cached value in which every string long enough to be a V8 slice of a larger one
 * (13 characters and more) is a string of its own: a piece cut from a long claim would otherwise
 * keep the whole claim alive for as long as the entry lives, past the weight it was given.
 * Shorter strings are copies already, and shared (as JSON.parse internalises them).
 */
export function detached<T>(value: T): T {
  if (typeof value === 'string') return (value.length < 13 ? value : copyString(value)) as T
  if (Array.isArray(value)) return value.map(detached) as T
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = detached(v)
  return out as T
}

/** A flat copy, lone surrogates included (JSON escapes and restores them). */
function copyString(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string
}
