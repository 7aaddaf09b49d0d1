/** Retry a pipeline step with capped exponential backoff while the consumer is alive. */
import { isAudtrailError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { PipelineMetrics } from '../metrics.js'

/** Thrown when the consumer stops while a step is being retried: the batch is abandoned. */
export class Stopped extends Error {}

export interface RetryContext {
  alive: () => boolean
  heartbeat: () => Promise<void>
  log: Logger
  metrics: PipelineMetrics
  /** Called on the first failure (the consumer pauses the partition). */
  onFailure: () => void
  initialMs?: number
  maxMs?: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Every failure is retried: an outage heals by itself, and a step that can never succeed must not
 * be skipped silently (that would lose events) — it stays visible in logs and metrics instead.
 */
export async function retrying<T>(
  what: string,
  ctx: RetryContext,
  fn: () => Promise<T>,
): Promise<T> {
  let delay = ctx.initialMs ?? 250
  for (let attempt = 1; ; attempt++) {
    if (!ctx.alive()) throw new Stopped(what)
    try {
      return await fn()
    } catch (err) {
      ctx.onFailure()
      ctx.metrics.retries.inc()
      const retriable = isAudtrailError(err) ? err.retriable : true
      // A failure that cannot heal by itself (a bad query, say) holds ingest until someone acts:
      // it is an error, where an outage that will pass is a warning.
      const level = attempt === 1 || attempt % 20 === 0 ? (retriable ? 'warn' : 'error') : 'debug'
      ctx.log[level](
        { attempt, retriable, err: isAudtrailError(err) ? err.message : String(err) },
        `${what} failed; retrying in ${delay} ms`,
      )
    }
    // Sleep in slices so the group keeps our membership and a stop is noticed quickly.
    for (let waited = 0; waited < delay; waited += 1000) {
      if (!ctx.alive()) throw new Stopped(what)
      await sleep(Math.min(1000, delay - waited))
      await ctx.heartbeat().catch(() => {})
    }
    delay = Math.min(delay * 2, ctx.maxMs ?? 10_000)
  }
}

/** An error as one log field: its stable code first when it is one of ours. */
export function describeError(err: unknown): string {
  return isAudtrailError(err) ? `${err.code}: ${err.message}` : String(err)
}
