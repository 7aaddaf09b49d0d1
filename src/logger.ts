/** pino loggers with tokens and authorization headers redacted wherever they appear. */
import { pino, type Logger, type LevelWithSilent } from 'pino'

export const REDACT_PATHS = [
  'authorization',
  'token',
  'access_token',
  'refresh_token',
  'headers.authorization',
  'req.headers.authorization',
  'request.headers.authorization',
  '*.authorization',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.payload',
]

export function createLogger(level: LevelWithSilent = 'info', name = 'audtrail'): Logger {
  return pino({ name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } })
}

export type { Logger }
