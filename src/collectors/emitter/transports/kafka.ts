/** Kafka transport: an idempotent kafkajs producer, acks from all replicas, keyed by token key. */
import { createRequire } from 'node:module'
import type * as Kafkajs from 'kafkajs'
import type { LogEntry, Producer } from 'kafkajs'
import type { Logger } from 'pino'
import { AudtrailError, ConfigError } from '../../../errors.js'
import { tokenKey } from '../../../events/token-key.js'
import { EVENTS_TOPIC } from '../../../events/topics.js'
import { chunkByBytes, sendBisecting } from './split.js'
import type { AttemptResult, OutboundEvent, Rejection, Transport } from './types.js'

/** The contract's events topic (src/events/topics.ts). */
export const DEFAULT_TOPIC = EVENTS_TOPIC

/**
 * kafkajs, loaded when a Kafka transport is created and not before: it is an optional peer
 * dependency, so a collector that sends over HTTP works without it installed. A missing kafkajs
 * is a configuration error, named with the command that installs it.
 */
function loadKafkajs(): typeof Kafkajs {
  const require = createRequire(import.meta.url)
  try {
    require.resolve('kafkajs')
  } catch {
    throw new ConfigError([
      "transport kafka: the package kafkajs is not installed (it is an optional peer dependency of audtrail): run 'npm install kafkajs'",
    ])
  }
  return require('kafkajs') as typeof Kafkajs
}

export interface KafkaTransportConfig {
  brokers: string[]
  topic?: string
  clientId?: string
  /** most bytes of event JSON per produce request (the broker refuses batches over its limit) */
  maxRequestBytes?: number
}

// Errors tied to the content of a batch: bisect it instead of retrying it forever.
const REFUSED = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD'])

/**
 * Retries are deliberately few and short, so a down broker is detected in about a second and the
 * batch goes to the spool instead of holding the queue. After any failure the producer is
 * discarded and a new one (new producer id) is created for the next attempt: an idempotent
 * producer whose send had an unknown outcome cannot safely reuse its sequence numbers. A batch
 * that was written but not acknowledged is sent again; consumers deduplicate by `event_id`.
 */
export function createKafkaTransport(config: KafkaTransportConfig, logger: Logger): Transport {
  const topic = config.topic ?? DEFAULT_TOPIC
  const maxRequestBytes = config.maxRequestBytes ?? 900_000
  const retry = { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 }
  const { Kafka, Partitioners, logLevel } = loadKafkajs()
  const log = logger.child({ component: 'kafkajs' })
  const kafka = new Kafka({
    clientId: config.clientId ?? 'audtrail-emitter',
    brokers: config.brokers,
    connectionTimeout: 2_000,
    requestTimeout: 5_000,
    retry,
    logLevel: logLevel.WARN,
    // kafkajs reports every failed reconnection: the emitter logs outages itself, once.
    logCreator:
      () =>
      ({ log: entry }: LogEntry) =>
        log.debug({ broker: entry.broker, error: entry.error }, String(entry.message)),
  })
  let producer: Promise<Producer> | undefined

  function connect(): Promise<Producer> {
    producer ??= (async () => {
      const p = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
        retry,
      })
      try {
        await p.connect()
        return p
      } catch (err) {
        await p.disconnect().catch(() => {})
        throw err
      }
    })()
    return producer
  }

  function discard(): void {
    const old = producer
    producer = undefined
    void old?.then((p) => p.disconnect()).catch(() => {})
  }

  async function attempt(part: readonly OutboundEvent[]): Promise<AttemptResult> {
    try {
      const p = await connect()
      await p.send({
        topic,
        acks: -1,
        messages: part.map((e) => ({
          key: tokenKey(e.event.token)?.key ?? e.event.event_id,
          value: e.json,
        })),
      })
      return { status: 'sent' }
    } catch (err) {
      discard()
      const type = protocolType(err)
      if (type !== undefined && REFUSED.has(type))
        return { status: 'refused', reason: `Kafka ${type}` }
      throw new AudtrailError(
        'ERR_TRANSPORT_UNAVAILABLE',
        `Kafka produce to ${topic} failed: ${describe(err)}`,
        {
          cause: err,
          retriable: true,
        },
      )
    }
  }

  return {
    name: 'kafka',
    async send(batch) {
      const rejected: Rejection[] = []
      let offset = 0
      for (const chunk of chunkByBytes(batch, maxRequestBytes)) {
        for (const r of await sendBisecting(chunk, attempt))
          rejected.push({ ...r, index: r.index + offset })
        offset += chunk.length
      }
      return { rejected }
    },
    async close() {
      const p = producer
      producer = undefined
      await p?.then((x) => x.disconnect()).catch(() => {})
    },
  }
}

/** The Kafka protocol error type (e.g. `MESSAGE_TOO_LARGE`) anywhere in a kafkajs error chain. */
function protocolType(err: unknown, depth = 0): string | undefined {
  if (err === null || typeof err !== 'object' || depth > 5) return undefined
  const { type, cause, errors } = err as { type?: unknown; cause?: unknown; errors?: unknown }
  if (typeof type === 'string') return type
  if (Array.isArray(errors))
    for (const e of errors) {
      const found = protocolType(e, depth + 1)
      if (found !== undefined) return found
    }
  return protocolType(cause, depth + 1)
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const cause = err.cause instanceof Error && err.cause !== err ? ` (${err.cause.message})` : ''
  return `${err.message}${cause}`
}
