/** Map ClickHouse client and connection errors into audtrail's StorageError. */
import { StorageError } from '../errors.js'

const UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
])

/**
 * `what` names the operation for operators (`insert into events`); the ClickHouse error code and
 * type are kept, the SQL text is not. The original error stays on `cause` for logs. An outage is
 * told by the connection's error code or a transport message: a bare "network" also matched a
 * refused insert whose message lists the `network_ip` column, reported as ClickHouse unreachable.
 */
export function mapStorageError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err
  const e = err as { code?: unknown; type?: unknown; message?: unknown; name?: unknown }
  const code = typeof e?.code === 'string' ? e.code : undefined
  const message = typeof e?.message === 'string' ? e.message : ''
  if (
    (code !== undefined && UNAVAILABLE.has(code)) ||
    /socket hang up|\btimeout\b|ECONNREFUSED|network (?:error|is unreachable)/i.test(message)
  ) {
    return new StorageError('ERR_SINK_UNAVAILABLE', `${what}: ClickHouse is unreachable`, {
      cause: err,
      retriable: true,
    })
  }
  const type = typeof e?.type === 'string' ? e.type : 'UNKNOWN'
  const error = new StorageError(
    'ERR_STORAGE_QUERY',
    `${what}: ClickHouse error ${code ?? '?'} (${type})`,
    {
      cause: err,
      retriable: type === 'TOO_MANY_SIMULTANEOUS_QUERIES' || type === 'TIMEOUT_EXCEEDED',
    },
  )
  // For operators (CLI, logs); API error handlers must not pass it to callers.
  error.detail = message.split('\n')[0]!.slice(0, 500)
  return error
}
