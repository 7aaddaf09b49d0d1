/** The emitter's counters, and drop accounting that logs without flooding. */
import type { Logger } from 'pino'
import type { EmitterStats } from '../types.js'

/** Why an event was dropped (each also counts in `dropped`). */
export type DropReason = 'invalid' | 'too_large' | 'queue_full' | 'spool_corrupt' | 'closed'

export interface EmitterStatsDetail extends EmitterStats {
  /** events the transport refused permanently (HTTP 4xx for that event, Kafka size limits) */
  rejected: number
  /**
   * events the contract refused whole (or too large to send) that were sent reduced to what
   * passes, the paths changed listed in `attributes.reduced`; also counted in `emitted`
   */
  reduced: number
  /** `dropped`, by reason */
  dropReasons: Record<DropReason, number>
  /** bytes of the disk spool now (0 without a spool) */
  spoolBytes: number
  /** false while the transport is failing (events go to the spool) */
  transportUp: boolean
}

export type Counters = Omit<
  EmitterStatsDetail,
  'queued' | 'spoolBytes' | 'transportUp' | 'dropReasons'
>

const LOG_EVERY_MS = 10_000
// Long runs of token alphabet (base64url, JWT dots): a validation reason may echo an attribute
// key, and a careless producer could have put a token there.
const TOKEN_LIKE = /[A-Za-z0-9._~+/=-]{32,}/g

/** Replaces anything that could be a token in a string bound for a log line. */
export function redactTokens(text: string): string {
  return text.replace(TOKEN_LIKE, '[redacted]')
}

export class DropLog {
  readonly reasons: Record<DropReason, number> = {
    invalid: 0,
    too_large: 0,
    queue_full: 0,
    spool_corrupt: 0,
    closed: 0,
  }
  #lastLogged = new Map<DropReason, number>()
  #log: Logger
  #counters: Counters

  constructor(log: Logger, counters: Counters) {
    this.#log = log
    this.#counters = counters
  }

  /** Counts `n` drops; warns on the first of a reason, then at most every 10 s per reason. */
  drop(reason: DropReason, n = 1, detail?: Record<string, unknown>): void {
    if (n <= 0) return
    this.reasons[reason] += n
    this.#counters.dropped += n
    const now = Date.now()
    const last = this.#lastLogged.get(reason)
    if (last !== undefined && now - last < LOG_EVERY_MS) return
    this.#lastLogged.set(reason, now)
    this.#log.warn({ reason, dropped: this.reasons[reason], ...detail }, 'audit events dropped')
  }
}

/** Warns about reduced events: the first, then at most every 10 s, with the paths (never values). */
export class ReducedLog {
  #lastLogged = -Infinity
  #since = 0
  #log: Logger

  constructor(log: Logger) {
    this.#log = log
  }

  note(eventId: string, paths: readonly string[]): void {
    this.#since += 1
    const now = Date.now()
    if (now - this.#lastLogged < LOG_EVERY_MS) return
    this.#lastLogged = now
    const detail = {
      event_id: eventId,
      paths: paths.slice(0, 10).map(redactTokens),
      since: this.#since,
    }
    this.#since = 0
    this.#log.warn(detail, 'audit event reduced to the fields the contract accepts')
  }
}
