/**
 * `audtrail consume`: a consumer-group member that runs the pipeline on each partition batch and
 * commits offsets only after the DLQ and ClickHouse acknowledged everything they cover.
 */
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs'
import { isAudtrailError } from '../errors.js'
import type { AliasLookup } from '../events/resource.js'
import type { Logger } from '../logger.js'
import type { PipelineMetrics } from '../metrics.js'
import { processPayload } from '../pipeline/process.js'
import { toRejectedRow, type RejectedRow } from '../pipeline/rejected-row.js'
import type { EventSink } from '../pipeline/sink.js'
import type { EventRow } from '../storage/event-row.js'
import { dlqMessage, DLQ_TOPIC, sendAll, type OutgoingMessage } from './kafka.js'
import { retrying, Stopped } from './retry.js'

export interface ConsumerOptions {
  kafka: Kafka
  topic: string
  groupId: string
  sink: EventSink
  metrics: PipelineMetrics
  logger: Logger
  retentionDays: number
  aliases?: AliasLookup
  dlqTopic?: string
  /** Streaming detection on every stored chunk, before its offsets are committed. */
  detector?: { process(rows: readonly EventRow[]): Promise<void> }
  /** Rows per sink write; a partition batch larger than this is written in chunks. */
  maxBatchRows?: number
  /** Broker-side batching: wait up to this long for data (the time threshold). */
  maxWaitMs?: number
  /**
   * Partitions processed at once (default 1). Concurrent inserts into the embedded engine slow
   * each other down (measured: 3 at once gave half the rate of 1); a server can take more.
   * Within a partition, validation already overlaps the previous chunk's insert.
   */
  concurrency?: number
}

export interface RunningConsumer {
  /** Finish the batch in hand, commit it, leave the group. */
  stop(): Promise<void>
}

interface Chunk {
  rows: EventRow[]
  rejected: RejectedRow[]
  dlq: OutgoingMessage[]
}

export async function startConsumer(options: ConsumerOptions): Promise<RunningConsumer> {
  const { kafka, topic, sink, metrics, logger } = options
  const dlqTopic = options.dlqTopic ?? DLQ_TOPIC
  const maxRows = options.maxBatchRows ?? 2500
  const log = logger.child({ component: 'consumer', topic })
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    maxWaitTimeInMs: options.maxWaitMs ?? 250,
    maxBytesPerPartition: 8 * 1024 * 1024,
    maxBytes: 32 * 1024 * 1024,
    // A member that dies (SIGKILL, OOM) holds its partitions until the session times out: 10 s
    // keeps that pause short while leaving room for a slow insert between heartbeats.
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
  })
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  let stopping = false

  function toChunk(partition: number, messages: KafkaMessage[]): Chunk {
    const chunk: Chunk = { rows: [], rejected: [], dlq: [] }
    const receivedAt = Date.now()
    for (const m of messages) {
      const payload = m.value ?? Buffer.alloc(0)
      const result = processPayload(payload, {
        receivedAt,
        retentionDays: options.retentionDays,
        aliases: options.aliases,
      })
      if (result.kind === 'ok') {
        chunk.rows.push(result.row)
        continue
      }
      const sourceRef = `${topic}/${partition}/${m.offset}`
      const rejected = toRejectedRow({
        ...result,
        transport: 'kafka',
        sourceRef,
        payload,
        receivedAt,
      })
      chunk.rejected.push(rejected)
      chunk.dlq.push(dlqMessage(m.value, rejected, m.key))
    }
    return chunk
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale, pause } = payload
    const alive = () => isRunning() && !isStale() && !stopping
    let resume: (() => void) | undefined
    const retry = { alive, heartbeat, log, metrics, onFailure: () => (resume ??= pause()) }

    // Store one chunk: DLQ, then ClickHouse, then the commit that covers exactly this chunk.
    async function store(chunk: Chunk, messages: KafkaMessage[], started: number) {
      if (chunk.dlq.length > 0)
        await retrying('produce to the DLQ', retry, () => sendAll(producer, dlqTopic, chunk.dlq))
      const written = await retrying('write to ClickHouse', retry, () =>
        sink.write({ rows: chunk.rows, rejected: chunk.rejected }),
      )
      // Detection sees every valid row, redelivered ones too: its findings are idempotent, and a
      // chunk whose detection failed is not committed, so no event escapes the rules.
      const detector = options.detector
      if (detector && chunk.rows.length > 0)
        await retrying('detect', retry, () => detector.process(chunk.rows))
      const last = messages[messages.length - 1]!.offset
      // commitOffsets takes the next offset to read; resolveOffset takes the last one read.
      await consumer.commitOffsets([
        { topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
      ])
      resolveOffset(last)
      metrics.consumed.inc(messages.length)
      metrics.inserted.inc(written.inserted)
      metrics.duplicates.inc(written.duplicates)
      metrics.rejected.inc(written.rejected)
      metrics.batchSeconds.observe((performance.now() - started) / 1000)
      if (resume) {
        resume()
        resume = undefined
      }
      await heartbeat()
    }

    try {
      // Validation of chunk k+1 (JavaScript) overlaps the insert of chunk k (native engine);
      // stores still run one at a time and in offset order, so commits never skip ahead.
      let pending: Promise<void> | undefined
      for (let i = 0; i < batch.messages.length; i += maxRows) {
        if (!alive()) break
        const messages = batch.messages.slice(i, i + maxRows)
        const started = performance.now()
        const chunk = toChunk(batch.partition, messages)
        await pending
        pending = store(chunk, messages, started)
      }
      await pending
      metrics.lag.set(Number(batch.offsetLag()), { partition: String(batch.partition) })
    } catch (err) {
      // Stopping mid-batch: nothing past the last commit is acknowledged; it is read again.
      if (err instanceof Stopped) return
      throw err
    }
  }

  await producer.connect()
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: options.concurrency ?? 1,
    eachBatch,
  })
  log.info({ groupId: options.groupId }, 'consumer started')

  return {
    async stop() {
      stopping = true
      await consumer.disconnect()
      await producer.disconnect()
      log.info('consumer stopped')
    },
  }
}

export function describeError(err: unknown): string {
  return isAudtrailError(err) ? `${err.code}: ${err.message}` : String(err)
}
