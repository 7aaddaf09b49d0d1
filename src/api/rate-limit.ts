/** Per-caller rate limiting: a token bucket per (tenant, subject), bounded in memory. */
import { ApiError } from './errors.js'
import type { Authenticate } from './auth.js'

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
  const burst = options.burst ?? options.perSecond * 2
  const now = options.now ?? Date.now
  const maxCallers = options.maxCallers ?? 10_000
  const buckets = new Map<string, { tokens: number; at: number }>()
  return async (authorization) => {
    const caller = await authenticate(authorization)
    const key = `${caller.tenant ?? '*'}\u0000${caller.subject}`
    const t = now()
    const bucket = buckets.get(key) ?? { tokens: burst, at: t }
    bucket.tokens = Math.min(burst, bucket.tokens + ((t - bucket.at) / 1000) * options.perSecond)
    bucket.at = t
    buckets.delete(key)
    buckets.set(key, bucket)
    if (buckets.size > maxCallers) buckets.delete(buckets.keys().next().value!)
    if (bucket.tokens < 1) {
      const wait = Math.ceil((1 - bucket.tokens) / options.perSecond)
      throw new ApiError(429, 'ERR_RATE_LIMITED', 'too many requests; slow down', {
        'retry-after': String(Math.max(1, wait)),
      })
    }
    bucket.tokens -= 1
    return caller
  }
}
