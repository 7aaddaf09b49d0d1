/** A bounded LRU map whose entries also expire: verified (or decoded) tokens by fingerprint. */

/** Upper bound on an entry's life, whatever the token's `exp` (see `ExpiringLru.set`). */
export const MAX_ENTRY_AGE_MS = 10 * 60_000

export class ExpiringLru<V> {
  readonly #max: number
  readonly #entries = new Map<string, { value: V; until: number }>()

  /** `max` 0 disables the cache: nothing is stored, every lookup misses. */
  constructor(max: number) {
    this.#max = max
  }

  get size(): number {
    return this.#entries.size
  }

  get(key: string, now: number): V | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    this.#entries.delete(key)
    if (entry.until <= now) return undefined
    this.#entries.set(key, entry)
    return entry.value
  }

  /**
   * Keeps `value` until `until` (ms since the epoch) but never longer than MAX_ENTRY_AGE_MS: the
   * same horizon as jose's JWKS cache, so a key withdrawn from the JWKS stops vouching for cached
   * tokens within that time rather than at their `exp`.
   */
  set(key: string, value: V, until: number, now: number): void {
    if (this.#max === 0) return
    const bounded = Math.min(until, now + MAX_ENTRY_AGE_MS)
    if (bounded <= now) return
    this.#entries.delete(key)
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next()
      if (!oldest.done) this.#entries.delete(oldest.value)
    }
    this.#entries.set(key, { value, until: bounded })
  }
}
