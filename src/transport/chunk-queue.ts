/**
 * The consumer's ordered write-then-settle queue, without Kafka: chunks are written one at a time
 * in the order they were queued, then settled (detected and committed) in that same order. What
 * touches the broker or the engine is passed in (store, record, commit, seek, pause), and every
 * decision about whether a chunk goes on is the ledger's (partition-ledger.ts), so the orderings
 * that carry the exactly-once effect (docs/design/exactly-once.md) are tested without a broker.
 *
 * A chunk is queued as soon as it is sent for validation, so that the next batch is fetched while
 * this one is validated and written: the writes of one batch overlap the fetch and validation of
 * the next. The queue holds at most `lookahead` unsettled chunks (waitForRoom), which bounds
 * memory whichever step stalls.
 */
import type { Logger } from '../logger.js'
import type { PipelineMetrics } from '../metrics.js'
import type { PartitionLedger, Ticket } from './partition-ledger.js'
import { describeError, Stopped, type RetryContext } from './retry.js'

/** What the queue does to the outside world: each step is given the chunk's retry context. */
export interface ChunkSteps<C, W> {
  /** Store a validated chunk (the DLQ, then ClickHouse); retried by the step itself. */
  store(chunk: C, retry: RetryContext): Promise<W>
  /** After the store, before the commit: record what the rules found. */
  record(chunk: C, retry: RetryContext): Promise<void>
  /** Commit the partition up to `nextOffset` (the next offset to read). */
  commit(partition: number, nextOffset: string): Promise<void>
  /** Read the partition again from `offset`. */
  seek(partition: number, offset: string): void
  /** A chunk settled: count it. */
  done(chunk: C, written: W, queued: QueuedChunk<C>): void
}

/** One chunk as the consumer queues it. */
export interface QueuedChunk<C> {
  partition: number
  /** First and last offsets of the chunk (Kafka's decimal strings). */
  firstOffset: string
  lastOffset: string
  /** How many messages it holds. */
  messages: number
  /** When the chunk was read (performance.now()), for the batch duration. */
  started: number
  /**
   * Send the chunk for validation. `wanted`, asked just before it is sent, refuses it unsent when
   * false; the promise rejects when it is refused or its validation fails.
   */
  validate(wanted: () => boolean): Promise<C>
  /** The batch that read the chunk is still current (kafkajs running, the batch not stale). */
  fetched(): boolean
  /** The runner that fetched the chunk still runs (kafkajs restarts its runner after a crash). */
  runnerAlive(): boolean
  /** Pause the partition; returns how to resume it. */
  pause(): () => void
  heartbeat(): Promise<void>
}

export interface ChunkQueueOptions<C, W> {
  ledger: PartitionLedger
  steps: ChunkSteps<C, W>
  log: Logger
  metrics: PipelineMetrics
  /** Most unsettled chunks at once (see waitForRoom). */
  lookahead: number
  /** First and longest retry waits (RetryContext; defaults 250 ms and 10 s). */
  retryMs?: { initial: number; max: number }
  /** Waits between heartbeats while the queue is full (a parameter so that tests can run it). */
  sleep?: (ms: number) => Promise<void>
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export class ChunkQueue<C, W> {
  private writeTail: Promise<unknown> = Promise.resolve()
  private settleTail: Promise<unknown> = Promise.resolve()
  /** Chunks queued and not settled, oldest first (the lookahead bound). */
  private readonly unsettled: Promise<unknown>[] = []

  constructor(private readonly options: ChunkQueueOptions<C, W>) {}

  /** Chunks queued and not settled yet. */
  get size(): number {
    return this.unsettled.length
  }

  /** Settled when the writes queued until now are done (later ones are not waited for). */
  writesDone(): Promise<unknown> {
    return this.writeTail
  }

  /** Settled when every chunk queued until now is settled or abandoned (each awaits its write). */
  drained(): Promise<unknown> {
    return this.settleTail
  }

  /**
   * Wait for room in the lookahead while `alive`, heartbeating while a slow step holds it.
   * Returns whether there is room (false: no longer alive).
   */
  async waitForRoom(alive: () => boolean, heartbeat: () => Promise<void>): Promise<boolean> {
    const sleep = this.options.sleep ?? defaultSleep
    while (this.unsettled.length >= this.options.lookahead && alive()) {
      await Promise.race([this.unsettled[0], sleep(1000)])
      await heartbeat().catch(() => {})
    }
    return alive()
  }

  /** Queue a chunk: validate it now, write it after the writes before it, then settle it. */
  enqueue(queued: QueuedChunk<C>): void {
    const { ledger, steps, log, metrics } = this.options
    const { partition } = queued
    const ticket = ledger.open(partition)
    const alive = () => ledger.alive(ticket, queued.fetched())
    // Sent to the worker only if it can still be written. A failure is handled by the write.
    const validated = queued.validate(() => ledger.wanted(ticket, queued.fetched()))
    validated.catch(() => ledger.refuse(ticket))
    const retry: RetryContext = {
      alive,
      heartbeat: queued.heartbeat,
      log,
      metrics,
      onFailure: () => ledger.failed(ticket, queued.pause),
      initialMs: this.options.retryMs?.initial,
      maxMs: this.options.retryMs?.max,
    }
    const write = this.writeTail.then(async () => {
      const chunk = await validated
      if (!alive()) throw new Stopped('write')
      return { chunk, written: await steps.store(chunk, retry) }
    })
    this.writeTail = write.then(
      () => undefined,
      () => undefined,
    )
    const settled = this.settleTail.then(async () => {
      try {
        const { chunk, written } = await write
        await this.settle(queued, chunk, written, retry)
      } catch (err) {
        this.abandon(queued, ticket, err)
      }
    })
    this.settleTail = settled
    this.unsettled.push(settled)
    void settled.then(() => this.unsettled.splice(this.unsettled.indexOf(settled), 1))
  }

  // After its write: detection, then the commit that covers exactly this chunk.
  private async settle(queued: QueuedChunk<C>, chunk: C, written: W, retry: RetryContext) {
    const { ledger, steps, log } = this.options
    // The rules saw every valid row, redelivered ones too: findings are idempotent, and a chunk
    // whose findings were not recorded is not committed, so no event escapes the rules.
    await steps.record(chunk, retry)
    if (!retry.alive()) throw new Stopped('commit')
    try {
      // A commit names the next offset to read (the last one stored, plus one).
      await steps.commit(queued.partition, (BigInt(queued.lastOffset) + 1n).toString())
    } catch (err) {
      // Stored but not committed (a rebalance, a broker away): the next commit covers it, and
      // until then it would only be read again, and found stored.
      log.warn(
        { partition: queued.partition, err: describeError(err) },
        'commit failed; the next one covers it',
      )
    }
    steps.done(chunk, written, queued)
    ledger.settled(queued.partition)
    await retry.heartbeat().catch(() => {})
  }

  /** A chunk was not stored, or not detected: the ledger decides; a 'seek' reads it again. */
  private abandon(queued: QueuedChunk<C>, ticket: Ticket, err: unknown) {
    const { partition } = queued
    if (this.options.ledger.abandon(ticket, queued.runnerAlive()) !== 'seek') return
    if (!(err instanceof Stopped))
      this.options.log.error(
        { partition, err: describeError(err) },
        'chunk abandoned; reading it again',
      )
    try {
      this.options.steps.seek(partition, queued.firstOffset)
    } catch (seekErr) {
      this.options.log.warn(
        { partition, err: describeError(seekErr) },
        'seek after an abandoned chunk failed',
      )
    }
  }
}
