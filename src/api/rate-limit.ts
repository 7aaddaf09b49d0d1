/**
 * Rate limiting: token buckets by key (a caller, a tenant, a source address), bounded in memory,
 * where a request may take more than one token (an ingest one per event, a report one per day of
 * its period: see fairness.ts). `rateLimited` gives each authenticated caller its own bucket of
 * requests.
 */
import { ApiError, type ApiErrorCode } from './errors.js'
import type { Authenticate } from './auth.js'

export interface BucketOptions {
  /** tokens added per second */
  perSecond: number
  /** most tokens a bucket holds (and starts with) */
  burst: number
  /** clock in ms (tests) */
  now?: () => number
  /** most keys tracked at once (default 10 000; the least recently used are forgotten) */
  maxKeys?: number
}

/** Token buckets by key. A bucket forgotten (maxKeys) starts again full. */
export class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; at: number }>()
  readonly #now: () => number
  readonly #maxKeys: number

  constructor(readonly options: BucketOptions) {
    if (!(options.perSecond > 0) || !(options.burst >= 1))
      throw new RangeError('TokenBuckets: perSecond must be > 0 and burst >= 1')
    this.#now = options.now ?? Date.now
    this.#maxKeys = options.maxKeys ?? 10_000
  }

  /** The key's bucket, refilled to now and made the most recently used. */
  #bucket(key: string): { tokens: number; at: number } {
    const { perSecond, burst } = this.options
    const t = this.#now()
    const bucket = this.#buckets.get(key) ?? { tokens: burst, at: t }
    bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, t - bucket.at) / 1000) * perSecond)
    bucket.at = t
    this.#buckets.delete(key)
    this.#buckets.set(key, bucket)
    if (this.#buckets.size > this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!)
    return bucket
  }

  /**
   * Takes `cost` tokens from the key's bucket: 0 when taken, else the whole seconds to wait until
   * they are there (nothing is taken then). A cost over the burst is taken from a full bucket
   * (which it empties), so that no request is refused for ever.
   */
  take(key: string, cost = 1): number {
    const wait = this.wait(key, cost)
    if (wait === 0) this.#buckets.get(key)!.tokens -= Math.min(cost, this.options.burst)
    return wait
  }

  /** The whole seconds until the key's bucket holds `cost` tokens, 0 when it does (nothing is taken). */
  wait(key: string, cost = 1): number {
    const need = Math.min(cost, this.options.burst)
    const { tokens } = this.#bucket(key)
    return tokens >= need ? 0 : Math.max(1, Math.ceil((need - tokens) / this.options.perSecond))
  }

  /** Takes `cost` tokens, or throws a 429 with Retry-After (`code`, `message`). */
  takeOrThrow(key: string, cost: number, code: ApiErrorCode, message: string): void {
    const wait = this.take(key, cost)
    if (wait > 0) throw new ApiError(429, code, message, { 'retry-after': String(wait) })
  }
}

export interface RateLimitOptions {
  /** sustained requests per second per caller */
  perSecond: number
  /** burst size (default 2 x perSecond) */
  burst?: number
  /** clock in ms (tests) */
  now?: () => number
  /** most callers tracked at once (default 10 000; the oldest are forgotten) */
  maxCallers?: number
}

/** Wraps an authenticator so that each authenticated caller gets its own bucket; 429 when empty. */
export function rateLimited(authenticate: Authenticate, options: RateLimitOptions): Authenticate {
  const buckets = new TokenBuckets({
    perSecond: options.perSecond,
    burst: options.burst ?? options.perSecond * 2,
    now: options.now,
    maxKeys: options.maxCallers,
  })
  return async (authorization) => {
    const caller = await authenticate(authorization)
    const key = `${caller.tenant ?? '*'}\u0000${caller.subject}`
    buckets.takeOrThrow(key, 1, 'ERR_RATE_LIMITED', 'too many requests; slow down')
    return caller
  }
}
