/** kafkajs client factory (its logs routed to pino), the contract's topics created, bounded sends. */
import { Kafka, logLevel, type LogEntry, type Producer } from 'kafkajs'
import { DLQ_TOPIC, EVENTS_TOPIC, FINDINGS_TOPIC } from '../events/topics.js'
import type { Logger } from '../logger.js'
import type { OutgoingMessage } from '../pipeline/dlq.js'

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
}

export function createKafka(options: {
  brokers: string[]
  clientId: string
  logger: Logger
}): Kafka {
  const log = options.logger.child({ component: 'kafkajs' })
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    // kafkajs reports every retried connection at ERROR; WARN keeps outages visible, not noisy.
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry
        log[LEVELS[level] ?? 'info']({ ...rest, timestamp: undefined }, message)
      },
    retry: { initialRetryTime: 250, retries: 8, maxRetryTime: 10_000 },
  })
}

/** Create the contract's topics when missing; idempotent (used by `audtrail migrate`). */
export async function ensureTopics(
  kafka: Kafka,
  options: { topic?: string; partitions?: number } = {},
): Promise<string[]> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const existing = new Set(await admin.listTopics())
    const { brokers } = await admin.describeCluster()
    const replicationFactor = Math.min(3, brokers.length)
    const wanted = [options.topic ?? EVENTS_TOPIC, DLQ_TOPIC, FINDINGS_TOPIC]
    const missing = wanted.filter((t) => !existing.has(t))
    if (missing.length > 0)
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: options.partitions ?? 6,
          replicationFactor,
        })),
      })
    return missing
  } finally {
    await admin.disconnect()
  }
}

/** Largest request we send: a record batch must stay under the broker's message.max.bytes (1 MB). */
const MAX_REQUEST_BYTES = 512 * 1024

/** Send with acks from all replicas, in requests small enough for the broker's default limits. */
export async function sendAll(
  producer: Producer,
  topic: string,
  messages: readonly OutgoingMessage[],
): Promise<void> {
  let batch: OutgoingMessage[] = []
  let bytes = 0
  const flush = async () => {
    if (batch.length > 0) await producer.send({ topic, acks: -1, messages: batch })
    batch = []
    bytes = 0
  }
  for (const m of messages) {
    const size = (m.value === null ? 0 : Buffer.byteLength(m.value)) + 256
    if (bytes + size > MAX_REQUEST_BYTES) await flush()
    batch.push(m)
    bytes += size
  }
  await flush()
}
