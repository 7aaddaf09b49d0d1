/** Emitter options: validated once, before anything starts; every problem reported at once. */
import { pino, type Logger } from 'pino'
import { z } from 'zod'
import type { TransportConfig } from '../types.js'
import type { Transport } from './transports/types.js'

export interface EmitterOptions {
  /** where events go: a transport configuration, or any object implementing `Transport` */
  transport: TransportConfig | Transport
  /** directory of the disk spool used while the transport is down; without it, nothing is spooled */
  spoolDir?: string
  /** pino logger; default silent. Events and tokens are never logged. */
  logger?: Logger
  /** events per batch (default 100): a full batch is sent at once */
  batchSize?: number
  /** a partial batch is sent after this long (ms, default 1000) */
  flushIntervalMs?: number
  /** events held in memory at most (default 10 000); beyond, new events are dropped and counted */
  maxQueue?: number
  /** bytes of spool on disk at most (default 64 MiB); beyond, events are dropped and counted */
  maxSpoolBytes?: number
  /** events whose JSON is larger are dropped at emit (default 512 KiB; Kafka refuses > 1 MB) */
  maxEventBytes?: number
  /** first retry of a down transport after this long (ms, default 500), doubling up to `retryMaxMs` */
  retryInitialMs?: number
  /** longest wait between retries of a down transport (ms, default 30 000) */
  retryMaxMs?: number
  /** a send taking longer counts as failed (ms, default 10 000); events wait in memory meanwhile */
  sendTimeoutMs?: number
  /** `close()` gives up waiting after this long (ms, default 10 000); what is left is dropped */
  closeTimeoutMs?: number
  /** close (flush) the emitter when the process is about to exit naturally (default true) */
  closeOnExit?: boolean
}

export type ResolvedOptions = Required<Omit<EmitterOptions, 'spoolDir' | 'logger'>> & {
  spoolDir: string | undefined
  logger: Logger
}

const int = (min: number, max: number) => z.number().int().min(min).max(max)
const brokers = z.array(z.string().regex(/^[^\s,]+:\d{1,5}$/, 'must be host:port')).min(1)

const httpUrl = z
  .url({ protocol: /^https?$/ })
  .refine((u) => !/^[a-z]+:\/\/[^/]*@/i.test(u), 'must not contain credentials (use token)')

const TransportSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('kafka'),
    brokers,
    topic: z
      .string()
      .min(1)
      .max(249)
      .regex(/^[A-Za-z0-9._-]+$/)
      .optional(),
    clientId: z.string().min(1).optional(),
  }),
  z.strictObject({ type: z.literal('http'), url: httpUrl, token: z.string().min(1).optional() }),
  z.strictObject({
    type: z.literal('otlp'),
    url: httpUrl,
    token: z.string().min(1).optional(),
    gzip: z.boolean().optional(),
  }),
  z.strictObject({ type: z.literal('memory'), events: z.array(z.any()).optional() }),
])

const OptionsSchema = z.strictObject({
  transport: z.unknown(),
  spoolDir: z.string().min(1).optional(),
  logger: z.unknown().optional(),
  batchSize: int(1, 10_000).default(100),
  flushIntervalMs: int(1, 3_600_000).default(1_000),
  maxQueue: int(1, 10_000_000).default(10_000),
  maxSpoolBytes: int(1_024, Number.MAX_SAFE_INTEGER).default(64 << 20),
  maxEventBytes: int(1_024, 16 << 20).default(512 << 10),
  retryInitialMs: int(1, 3_600_000).default(500),
  retryMaxMs: int(1, 3_600_000).default(30_000),
  sendTimeoutMs: int(1, 3_600_000).default(10_000),
  closeTimeoutMs: int(1, 3_600_000).default(10_000),
  closeOnExit: z.boolean().default(true),
})

export function isTransport(value: unknown): value is Transport {
  const t = value as Partial<Transport> | null
  return (
    typeof t === 'object' &&
    t !== null &&
    typeof t.send === 'function' &&
    typeof t.close === 'function'
  )
}

/** Throws a `TypeError` listing every problem: a wrong option is the host programmer's mistake. */
export function resolveOptions(options: EmitterOptions): ResolvedOptions {
  const problems: string[] = []
  const parsed = OptionsSchema.safeParse(options ?? {})
  if (!parsed.success) problems.push(...issues(parsed.error))
  const transport = options?.transport
  if (!isTransport(transport)) {
    const t = TransportSchema.safeParse(transport)
    if (!t.success) problems.push(...issues(t.error, 'transport'))
  }
  const logger = options?.logger
  if (logger !== undefined && typeof (logger as Logger | null)?.child !== 'function')
    problems.push('logger: must be a pino logger')
  if (problems.length > 0 || !parsed.success)
    throw new TypeError(`createEmitter: invalid options:\n  - ${problems.join('\n  - ')}`)
  return {
    ...parsed.data,
    transport: transport as TransportConfig | Transport,
    spoolDir: parsed.data.spoolDir,
    logger: (logger as Logger | undefined) ?? pino({ level: 'silent' }),
  }
}

function issues(error: z.ZodError, prefix?: string): string[] {
  return error.issues.map((i) => {
    const at = [prefix, ...i.path.map(String)].filter((p) => p !== undefined).join('.')
    return `${at || '(root)'}: ${i.message}`
  })
}
