/**
 * The durable alert outbox: findings at or above the minimum severity become alerts, one per
 * finding, channel and throttle window (and again when the severity rises); alerts are stored
 * before delivery and retried with backoff until delivered, across restarts.
 */
import { createHash } from 'node:crypto'
import type { RecordedFinding } from '../detection/findings-store.js'
import { SEVERITIES, type Severity } from '../detection/rule.js'
import type { Logger } from '../logger.js'
import { toDateTime64 } from '../events/event-row.js'
import type { AlertRow, Repositories } from '../storage/repositories.js'
import { toAlert, type Alert } from './formats.js'
import type { Channel, Notifier } from './notifiers.js'

export interface OutboxOptions {
  storage: Pick<Repositories, 'outbox'>
  /** Channels that deliver here; a process that only enqueues (consume) passes none. */
  notifiers: readonly Notifier[]
  /** Channels alerts are queued for (default: the notifiers' channels). */
  channels?: readonly Channel[]
  minSeverity: Severity
  logger: Logger
  /** AUDTRAIL_PUBLIC_URL: alerts carry absolute links to the finding's console page and API. */
  publicUrl?: string
  /** One alert per finding and channel per this many seconds (default 3600). */
  throttleS?: number
  /** Retry backoff: first delay and cap (default 5 s, 10 min). */
  initialRetryMs?: number
  maxRetryMs?: number
}

export interface Outbox {
  /** Store alerts for these findings (throttled, filtered by severity). */
  enqueue(findings: readonly RecordedFinding[]): Promise<number>
  /** Try every due alert once; returns how many were delivered. */
  deliverDue(): Promise<number>
}

const rank = (s: Severity) => SEVERITIES.indexOf(s)

let sequence = 0
const nextVersion = () => Date.now() * 1000 + (sequence = (sequence + 1) % 1000)

export function createOutbox(options: OutboxOptions): Outbox {
  const { notifiers } = options
  const { outbox } = options.storage
  const throttleMs = (options.throttleS ?? 3600) * 1000
  const byChannel = new Map(notifiers.map((n) => [n.channel, n]))
  const channels = options.channels ?? notifiers.map((n) => n.channel)

  return {
    async enqueue(findings) {
      const now = Date.now()
      const window = Math.floor(now / throttleMs)
      const rows = findings
        .filter((f) => rank(f.severity) >= rank(options.minSeverity))
        .flatMap((f) =>
          channels.map((channel): AlertRow => {
            const alertId = createHash('sha256')
              .update(`${f.finding_id}\u0000${channel}\u0000${window}\u0000${f.severity}`)
              .digest('hex')
              .slice(0, 32)
            return {
              tenant: f.tenant,
              alert_id: alertId,
              channel,
              finding_id: f.finding_id,
              payload: JSON.stringify(toAlert(alertId, f, options.publicUrl)),
              created_at: toDateTime64(now),
              attempts: 0,
              next_attempt_at: toDateTime64(now),
              delivered: false,
              last_error: '',
              // Version 0: an alert already in the outbox (same window) keeps its own state.
              version: 0,
            }
          }),
        )
      await outbox.write(rows)
      return rows.length
    },

    async deliverDue() {
      const due = await outbox.due(500)
      let delivered = 0
      for (const row of due) {
        const notifier = byChannel.get(row.channel as Notifier['channel'])
        if (!notifier) continue
        const attempts = Number(row.attempts) + 1
        let error = ''
        try {
          await notifier.deliver(JSON.parse(row.payload) as Alert)
          delivered += 1
        } catch (err) {
          error = err instanceof Error ? err.message : String(err)
          options.logger.warn(
            { alert: row.alert_id, channel: row.channel, attempts, error },
            'alert delivery failed',
          )
        }
        const delay = Math.min(
          (options.initialRetryMs ?? 5000) * 2 ** (attempts - 1),
          options.maxRetryMs ?? 600_000,
        )
        await outbox.write([
          {
            ...row,
            attempts,
            next_attempt_at: toDateTime64(Date.now() + delay),
            delivered: error === '',
            last_error: error.slice(0, 500),
            version: nextVersion(),
          },
        ])
      }
      return delivered
    },
  }
}
