/**
 * pino loggers that never write a credential: tokens and credential headers redacted wherever
 * they appear, requests logged without their headers and with every raw JWT cut out of their URL
 * and host, errors with raw JWTs cut out of their message, stack and fields, and, last, every line
 * looked at once more as it is written (a raw JWT in a message, a binding or any field is cut out
 * there too, whoever logged it).
 */
import {
  pino,
  stdSerializers,
  type DestinationStream,
  type Logger,
  type LevelWithSilent,
} from 'pino'
import { holdsRawJwt, RAW_JWT_REMOVED, withoutRawJwtText } from './events/raw-token.js'

/** Headers that carry credentials (bearer and DPoP tokens, cookies, API keys): never logged. */
export const CREDENTIAL_HEADERS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'dpop',
  'x-api-key',
] as const

const headerPaths = (prefix: string) => CREDENTIAL_HEADERS.map((h) => `${prefix}["${h}"]`)

export const REDACT_PATHS = [
  'authorization',
  'token',
  'access_token',
  'refresh_token',
  'cookie',
  'dpop',
  '*.authorization',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.payload',
  '*.cookie',
  '*.dpop',
  ...headerPaths('headers'),
  ...headerPaths('req.headers'),
  ...headerPaths('request.headers'),
  ...headerPaths('res.headers'),
  ...headerPaths('*.headers'),
]

/**
 * An URL with every raw JWT cut out, piece by piece (path segments, query names and values), so
 * that one found only once its percent-escapes are decoded takes its own piece with it, not the
 * whole URL.
 */
export function withoutRawJwtUrl(url: string): string {
  if (!holdsRawJwt(url)) return url
  const cut = url
    .split(/([/?&=;#])/)
    .map((piece, i) => (i % 2 === 1 ? piece : withoutRawJwtText(piece)))
    .join('')
  return holdsRawJwt(cut) ? RAW_JWT_REMOVED : cut
}

/** A value with every raw JWT cut out of its strings and keys (a copy; the value is not changed). */
export function withoutRawJwtValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return withoutRawJwtText(value)
  if (value === null || typeof value !== 'object') return value
  // Deeper than any log field goes: what is below is dropped rather than walked.
  if (depth > 16) return '[too deep]'
  if (Array.isArray(value)) return value.map((v) => withoutRawJwtValue(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value))
    out[withoutRawJwtText(k)] = withoutRawJwtValue(v, depth + 1)
  return out
}

/** The parts of a request (Fastify's or Node's) a log line may hold. */
interface LoggedRequest {
  method?: string
  url?: string
  host?: string
  ip?: string
  headers?: Record<string, unknown>
  socket?: { remotePort?: number; remoteAddress?: string }
}

/**
 * Log serializers: a request is its method, URL and host with raw JWTs cut out, and its peer
 * (never its headers); an error is pino's, its strings cleaned.
 */
export const LOG_SERIALIZERS = {
  req(req: LoggedRequest) {
    const host = req.host ?? (typeof req.headers?.host === 'string' ? req.headers.host : undefined)
    return {
      method: req.method,
      url: typeof req.url === 'string' ? withoutRawJwtUrl(req.url) : undefined,
      host: host === undefined ? undefined : withoutRawJwtUrl(host),
      remoteAddress: req.ip ?? req.socket?.remoteAddress,
      remotePort: req.socket?.remotePort,
    }
  },
  err(err: Error) {
    return withoutRawJwtValue(stdSerializers.err(err))
  },
}

/**
 * The last look at a log line, as it is written: one that holds a raw JWT anywhere (a message, a
 * binding, a field no serializer knew) is written again with the JWT cut out of each string.
 */
export function withoutRawJwtLine(line: string): string {
  if (!holdsRawJwt(line)) return line
  let out: string
  try {
    out = JSON.stringify(withoutRawJwtValue(JSON.parse(line) as unknown)) + '\n'
  } catch {
    out = withoutRawJwtText(line)
  }
  if (!holdsRawJwt(out)) return out
  return JSON.stringify({ msg: RAW_JWT_REMOVED }) + '\n'
}

/** A logger; `destination` (default stdout) lets tests read what it writes. */
export function createLogger(
  level: LevelWithSilent = 'info',
  name = 'audtrail',
  destination?: DestinationStream,
): Logger {
  const options = {
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: LOG_SERIALIZERS,
    hooks: { streamWrite: withoutRawJwtLine },
  }
  return destination ? pino(options, destination) : pino(options)
}

export type { Logger }
