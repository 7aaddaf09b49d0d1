/** Throttled warnings: a failing emitter must not flood the host's logs (one line per kind per minute). */
import type { CollectorLogger } from './options.js'

export type Warn = (kind: 'emit_failed' | 'internal_error', err: unknown) => void

const INTERVAL_MS = 60_000

/** Logs the error's name and (bounded) message only: no stack, no event, never a token. */
export function throttledWarn(logger: CollectorLogger | undefined): Warn {
  const last = new Map<string, { at: number; suppressed: number }>()
  return (kind, err) => {
    if (logger === undefined) return
    const now = Date.now()
    const seen = last.get(kind)
    if (seen !== undefined && now - seen.at < INTERVAL_MS) {
      seen.suppressed++
      return
    }
    last.set(kind, { at: now, suppressed: 0 })
    const e = err as { name?: unknown; message?: unknown; code?: unknown } | undefined
    try {
      logger.warn(
        {
          audtrail: kind,
          err: {
            name: String(e?.name ?? 'Error').slice(0, 100),
            code: typeof e?.code === 'string' ? e.code.slice(0, 100) : undefined,
            message: String(e?.message ?? e).slice(0, 300),
          },
          suppressed: seen?.suppressed ?? 0,
        },
        `audtrail collector: ${kind === 'emit_failed' ? 'emitter threw' : 'internal error'}`,
      )
    } catch {
      // A logger that throws is one more thing that must not reach the host.
    }
  }
}
