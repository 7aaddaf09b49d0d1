/**
 * `audtrail consume`: a consumer-group member that runs the pipeline on each partition batch and
 * commits offsets only after the DLQ and ClickHouse acknowledged everything they cover.
 */
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs'
import type { EvaluationHandOff, RuleDetections, TokenStates } from '../detection/engine.js'
import type { Logger } from '../logger.js'
import type { PipelineMetrics } from '../metrics.js'
import {
  startChunkValidator,
  type Chunk,
  type ChunkValidator,
  type ValidatorOptions,
} from '../pipeline/chunk-validator.js'
import type { EventSink, SinkResult } from '../pipeline/sink.js'
import type { ResourceRegistry } from '../resource-registry.js'
import { sendAll } from './kafka.js'
import { DLQ_TOPIC } from '../events/topics.js'
import { ChunkQueue } from './chunk-queue.js'
import { PartitionLedger } from './partition-ledger.js'
import { describeError, retrying } from './retry.js'

export interface ConsumerOptions {
  kafka: Kafka
  topic: string
  groupId: string
  sink: EventSink
  metrics: PipelineMetrics
  logger: Logger
  retentionDays: number
  /** Take each event's digest for the integrity chain (default true; false when chaining is off). */
  digests?: boolean
  /** Resource aliases (canonicalization) and the registry the rules read. */
  registry?: ResourceRegistry
  dlqTopic?: string
  /**
   * Streaming detection. The consumer takes its evaluation over (handOff): the event rules run in
   * the validation worker on each chunk's valid events, in the order they were read, and what
   * they found is recorded here once the chunk is stored, before its offsets are committed.
   */
  detector?: { handOff(): EvaluationHandOff; record(found: RuleDetections): Promise<void> }
  /**
   * Token states rebuilt from the stored events (the detector's warm-up), for a validation worker
   * started after one died. Called once the writes queued before the death are done, so that
   * the events the dead worker evaluated and that were stored are in it; those not stored are
   * read again and evaluated by the new worker. Without it, a new worker starts with none.
   */
  restoreStates?: () => Promise<TokenStates>
  /**
   * Most rows per sink write (default 40 000); a larger partition batch is written in chunks of
   * even size. Each write makes a part per table (events and its rollups) for the engine to merge
   * later: 2 500-row writes spent twice the merge work and 25 % more insert time per event than
   * 10 000-row ones. With validation in its worker, 300 000 events through `audtrail consume`
   * used 86 to 88 us of CPU per event at 10 000 rows, 76 to 79 at 20 000, 73 at 40 000 and 75 to
   * 82 at 80 000 (a chunk near a whole fetch leaves less to overlap), at 20 000 to 20 700,
   * 21 100 to 21 900, 22 400 to 22 800 and 19 600 to 21 100 events/s.
   */
  maxBatchRows?: number
  /** Broker-side batching: wait up to this long for data (the time threshold). */
  maxWaitMs?: number
  /**
   * Partitions processed at once (default 1). Writes run one at a time for every partition
   * (concurrent inserts into the embedded engine slowed each other down: 3 at once gave half the
   * rate of 1), so this only interleaves validation; it already overlaps the writes.
   */
  concurrency?: number
  /** Where chunks are validated (default startChunkValidator, a worker thread). */
  startValidator?: (options: ValidatorOptions) => ChunkValidator
}

export interface RunningConsumer {
  /**
   * Store, detect and commit the chunks already validated, then leave the group. A chunk with a
   * failed step (before or during the stop) is left, with the later chunks of its partition, to
   * whoever reads the partition next.
   */
  stop(): Promise<void>
}

/** Most rows per sink write by default (see ConsumerOptions.maxBatchRows). */
export const DEFAULT_MAX_BATCH_ROWS = 40_000

/**
 * Chunks sent for validation and not yet settled (stored, detected and committed), across
 * batches and partitions, whether in the validation worker, waiting for their write, being
 * written or settling. This bounds memory whichever step stalls: a stalled detection or commit
 * holds the chunks behind it like a stalled write.
 */
const LOOKAHEAD = 3

export async function startConsumer(options: ConsumerOptions): Promise<RunningConsumer> {
  const { kafka, topic, sink, metrics, logger, retentionDays } = options
  const dlqTopic = options.dlqTopic ?? DLQ_TOPIC
  const maxRows = options.maxBatchRows ?? DEFAULT_MAX_BATCH_ROWS
  const log = logger.child({ component: 'consumer', topic })
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    maxWaitTimeInMs: options.maxWaitMs ?? 250,
    // Large fetches (about 80 000 bench events each): kafkajs fetches again only when eachBatch
    // has returned for every batch of a fetch, and the fetch itself (decoding included) takes the
    // JavaScript thread about half a second, while the engine goes on writing (see eachBatch).
    // A fetch holds at most 64 MB of messages in memory.
    maxBytesPerPartition: 64 * 1024 * 1024,
    maxBytes: 64 * 1024 * 1024,
    // A member that dies (SIGKILL, OOM) holds its partitions until the session times out: 10 s
    // keeps that pause short while leaving room for a slow insert between heartbeats.
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
  })
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  const ledger = new PartitionLedger()
  // The partition each chunk was read from: it names the chunk's chain (docs/integrity.md).
  const partitionOf = new WeakMap<Chunk, number>()
  // REBALANCING comes first; GROUP_JOIN follows every join, the ones without REBALANCING too.
  consumer.on(consumer.events.REBALANCING, () => ledger.rebalanced())
  consumer.on(consumer.events.GROUP_JOIN, () => ledger.rebalanced())
  // One queue for every batch: chunks are written one at a time in the order they were
  // validated, then detected and committed in that same order. eachBatch returns once its last
  // chunk is queued (its offsets resolved, so kafkajs fetches on), and the writes of one batch
  // overlap the fetch and validation of the next: returning only after its last commit left the
  // engine idle for each fetch and the JavaScript thread idle for each batch's last write.
  const queue = new ChunkQueue<Chunk, SinkResult>({
    ledger,
    log,
    metrics,
    lookahead: LOOKAHEAD,
    steps: {
      // Store one chunk: the DLQ, then ClickHouse.
      async store(chunk, retry) {
        if (chunk.dlq.length > 0)
          await retrying('produce to the DLQ', retry, () => sendAll(producer, dlqTopic, chunk.dlq))
        return retrying('write to ClickHouse', retry, () =>
          sink.write({
            rows: chunk.events,
            rejected: chunk.rejected,
            source: `kafka:${topic}:${partitionOf.get(chunk) ?? 'unknown'}`,
          }),
        )
      },
      async record(chunk, retry) {
        const detector = options.detector
        if (detector && chunk.detections.length > 0)
          await retrying('record findings', retry, () => detector.record(chunk.detections))
      },
      commit: (partition, offset) => consumer.commitOffsets([{ topic, partition, offset }]),
      seek: (partition, offset) => consumer.seek({ topic, partition, offset }),
      done(_chunk, written, queued) {
        metrics.consumed.inc(queued.messages)
        metrics.inserted.inc(written.inserted)
        metrics.duplicates.inc(written.duplicates)
        metrics.rejected.inc(written.rejected)
        metrics.batchSeconds.observe((performance.now() - queued.started) / 1000)
      },
    },
  })
  const validator = (options.startValidator ?? startChunkValidator)({
    retentionDays,
    digests: options.digests,
    registry: options.registry,
    evaluation: options.detector?.handOff(),
    // Once the writes queued at the death are done (chunks validated before a worker died), not
    // those queued later: those wait for the new worker, which waits for this.
    restoreStates: options.restoreStates && (() => queue.writesDone().then(options.restoreStates!)),
    logger: log,
  })

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale, pause } = payload
    const partition = batch.partition
    const fetched = () => isRunning() && !isStale()
    const batchAlive = () => fetched() && !ledger.stopping

    const size = evenChunks(batch.messages.length, maxRows)
    for (let i = 0; i < batch.messages.length; i += size) {
      // Wait for room in the lookahead, heartbeating while a slow write holds it.
      if (!(await queue.waitForRoom(batchAlive, heartbeat))) return
      const messages = batch.messages.slice(i, i + size)
      // Queued as soon as it is sent to the worker, so that kafkajs fetches the next batch while
      // the worker validates this one (it does not fetch before eachBatch returns). A chunk whose
      // validation fails (the worker died) is abandoned like one whose write fails: its partition
      // is read again from it.
      queue.enqueue({
        partition,
        firstOffset: messages[0]!.offset,
        lastOffset: messages[messages.length - 1]!.offset,
        messages: messages.length,
        started: performance.now(),
        validate: (wanted) =>
          validator.toChunk(messages, topic, partition, wanted).then((chunk) => {
            partitionOf.set(chunk, partition)
            return chunk
          }),
        fetched,
        runnerAlive: isRunning,
        pause,
        heartbeat,
      })
      resolveOffset(messages[messages.length - 1]!.offset)
    }
    metrics.lag.set(Number(batch.offsetLag()), { partition: String(partition) })
  }

  try {
    await producer.connect()
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.concurrency ?? 1,
      eachBatch,
    })
  } catch (err) {
    // The worker thread would keep a process that failed to start from exiting.
    await validator.close()
    throw err
  }
  log.info({ groupId: options.groupId }, 'consumer started')

  return {
    async stop() {
      ledger.stop()
      // No more fetches: a batch returned unprocessed would be fetched again at once.
      try {
        consumer.pause([{ topic }])
      } catch (err) {
        log.warn({ err: describeError(err) }, 'pause at stop failed')
      }
      // The chunks already validated are stored and committed first (a chunk whose step fails is
      // left to whoever reads the partition next), then the group is left. Each settle awaits its
      // chunk's write, so the last settle is the end of both. Chunks waiting for a replacement
      // worker are left too, rather than waiting for its restore.
      validator.refuseWaiting()
      await queue.drained()
      await consumer.disconnect()
      await producer.disconnect()
      await validator.close()
      log.info('consumer stopped')
    },
  }
}

/** The chunk size that splits `total` into the fewest chunks of at most `max`, evenly. */
export function evenChunks(total: number, max: number): number {
  return Math.max(1, Math.ceil(total / Math.max(1, Math.ceil(total / max))))
}
