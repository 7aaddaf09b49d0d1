/**
 * `audtrail consume`: a consumer-group member that runs the pipeline on each partition batch and
 * commits offsets only after the DLQ and ClickHouse acknowledged everything they cover.
 */
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs'
import { isAudtrailError } from '../errors.js'
import type { AliasLookup } from '../events/resource.js'
import type { Logger } from '../logger.js'
import type { PipelineMetrics } from '../metrics.js'
import { toChunk, type Chunk } from '../pipeline/chunk.js'
import type { EventSink, SinkResult } from '../pipeline/sink.js'
import type { EventRow } from '../storage/event-row.js'
import { DLQ_TOPIC, sendAll } from './kafka.js'
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
  /**
   * Most rows per sink write (default 10 000); a larger partition batch is written in chunks of
   * even size. Each write makes a part per table (events and its rollups) for the engine to merge
   * later: 2 500-row writes spent twice the merge work and 25 % more insert time per event.
   */
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

/** Chunks validated ahead: the one being written and the next (bounds memory). */
const LOOKAHEAD = 2

export async function startConsumer(options: ConsumerOptions): Promise<RunningConsumer> {
  const { kafka, topic, sink, metrics, logger, retentionDays } = options
  const dlqTopic = options.dlqTopic ?? DLQ_TOPIC
  const maxRows = options.maxBatchRows ?? 10_000
  const log = logger.child({ component: 'consumer', topic })
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    maxWaitTimeInMs: options.maxWaitMs ?? 250,
    // Large fetches: the stages of a batch overlap (see eachBatch), but each batch drains them
    // before the next begins. 8 MB batches (about 11 000 events, one or two chunks) left the
    // JavaScript thread idle a quarter of the time: 11 100 events/s over 300 000 events, against
    // 13 000 to 14 400 with 32 to 64 MB. A fetch holds at most 64 MB of messages in memory.
    maxBytesPerPartition: 64 * 1024 * 1024,
    maxBytes: 64 * 1024 * 1024,
    // A member that dies (SIGKILL, OOM) holds its partitions until the session times out: 10 s
    // keeps that pause short while leaving room for a slow insert between heartbeats.
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
  })
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  let stopping = false

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale, pause } = payload
    const alive = () => isRunning() && !isStale() && !stopping
    let resume: (() => void) | undefined
    const retry = { alive, heartbeat, log, metrics, onFailure: () => (resume ??= pause()) }
    const context = { topic, partition: batch.partition, retentionDays, aliases: options.aliases }

    // Store one chunk: the DLQ, then ClickHouse.
    async function write(chunk: Chunk): Promise<SinkResult> {
      if (chunk.dlq.length > 0)
        await retrying('produce to the DLQ', retry, () => sendAll(producer, dlqTopic, chunk.dlq))
      return retrying('write to ClickHouse', retry, () =>
        sink.write({ rows: chunk.rows, rejected: chunk.rejected }),
      )
    }

    // After its write: detection, then the commit that covers exactly this chunk.
    async function settle(
      chunk: Chunk,
      messages: KafkaMessage[],
      written: SinkResult,
      started: number,
    ) {
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

    // Three stages overlap: validation of chunk k+2 (JavaScript), the write of chunk k+1 (mostly
    // the native engine), detection and commit of chunk k (JavaScript). Writes run one at a time
    // in offset order, and so do detection and commits, so a commit never skips ahead of a store.
    let writing: Promise<SinkResult> | undefined
    let settled: Promise<void> = Promise.resolve()
    let failed = false
    const writes: Promise<unknown>[] = []
    const size = evenChunks(batch.messages.length, maxRows)
    for (let i = 0; i < batch.messages.length && alive() && !failed; i += size) {
      if (writes.length >= LOOKAHEAD) await writes[writes.length - LOOKAHEAD]
      const messages = batch.messages.slice(i, i + size)
      const started = performance.now()
      const chunk = await toChunk(messages, context)
      const written: Promise<SinkResult> = (writing ?? Promise.resolve()).then(() => write(chunk))
      writing = written
      writes.push(written.catch(() => (failed = true)))
      settled = settled.then(() => written).then((w) => settle(chunk, messages, w, started))
      // A failure is awaited below; until then it must not count as unhandled.
      settled.catch(() => {})
    }
    try {
      // Every write has ended (a later one may still run when an earlier settle failed).
      await Promise.all(writes)
      await settled
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

/** The chunk size that splits `total` into the fewest chunks of at most `max`, evenly. */
export function evenChunks(total: number, max: number): number {
  return Math.max(1, Math.ceil(total / Math.max(1, Math.ceil(total / max))))
}

export function describeError(err: unknown): string {
  return isAudtrailError(err) ? `${err.code}: ${err.message}` : String(err)
}
