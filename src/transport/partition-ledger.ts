/**
 * The consumer's per-partition bookkeeping, without Kafka: which queued chunks may still be
 * written and committed (generation and group epoch), which partitions are paused by a failing
 * step, and what an abandoned chunk calls for. Every decision of `audtrail consume` about whether
 * a chunk goes on is taken here; the chunk queue (chunk-queue.ts) applies them.
 *
 * - A chunk that is abandoned (a step failed, or its validation did) ends its partition's
 *   generation: no later chunk of that generation is written or committed (a commit would cover
 *   the abandoned offsets), and the partition is sought back to the abandoned chunk.
 * - A group rebalance ends the epoch: chunks queued before it are not written (the write in
 *   progress ends) nor committed, since the partition's next owner reads them from the committed
 *   offset; two writers of the same events could both find them not stored yet, and the rollups
 *   would count them twice. Nothing is sought: reading resumes from the committed offset.
 */

/** One queued chunk's place: the generation and the epoch it was queued in. */
export interface Ticket {
  readonly partition: number
  readonly generation: number
  readonly epoch: number
  /** A step of this chunk failed (at least once); at stop it is left rather than retried. */
  failed: boolean
}

/** What an abandoned chunk calls for (see PartitionLedger.abandon). */
export type AbandonDecision =
  /** Read the partition again from the chunk's first offset. */
  | 'seek'
  /** Nothing: an older generation or epoch, the runner that fetched it is gone, or stopping. */
  | 'none'

export class PartitionLedger {
  private readonly generations = new Map<number, number>()
  /** Per partition, the last `generation:epoch` with a chunk whose validation failed. */
  private readonly refused = new Map<number, string>()
  /** Partitions paused by a failing step, with how to resume them. */
  private readonly resumes = new Map<number, () => void>()
  private epochs = 0
  private stopped = false

  /** Group rebalances (and joins) seen so far. */
  get epoch(): number {
    return this.epochs
  }

  get stopping(): boolean {
    return this.stopped
  }

  generation(partition: number): number {
    return this.generations.get(partition) ?? 0
  }

  /** The group rebalanced (or joined): every chunk queued until now is stale. */
  rebalanced(): void {
    this.epochs += 1
  }

  /** The consumer stops: queued chunks still settle unless a step of theirs fails. */
  stop(): void {
    this.stopped = true
  }

  /** The ticket of a chunk queued now. */
  open(partition: number): Ticket {
    return { partition, generation: this.generation(partition), epoch: this.epochs, failed: false }
  }

  /**
   * Whether the chunk may still be written and committed. `fetched`: the batch that read it is
   * still current (kafkajs running, the batch not stale).
   */
  alive(ticket: Ticket, fetched: boolean): boolean {
    return (
      fetched &&
      this.generation(ticket.partition) === ticket.generation &&
      this.epochs === ticket.epoch &&
      !(this.stopped && ticket.failed)
    )
  }

  /**
   * Whether to send the chunk to the validation worker: not once the consumer stops, nor when it
   * can no longer be written, nor after a chunk before it in the same generation was refused (the
   * partition is read again from that one, and the rules would see this one twice).
   */
  wanted(ticket: Ticket, fetched: boolean): boolean {
    return (
      !this.stopped &&
      this.alive(ticket, fetched) &&
      this.refused.get(ticket.partition) !== key(ticket)
    )
  }

  /** The chunk's validation failed (the worker died, or refused it). */
  refuse(ticket: Ticket): void {
    this.refused.set(ticket.partition, key(ticket))
  }

  /**
   * A step of the chunk failed and is retried: its partition is paused (once, until a chunk of it
   * settles or is abandoned). `pause` pauses it and returns how to resume it.
   */
  failed(ticket: Ticket, pause: () => () => void): void {
    ticket.failed = true
    if (!this.resumes.has(ticket.partition)) this.resumes.set(ticket.partition, pause())
  }

  /** Whether the partition is paused by a failing step. */
  paused(partition: number): boolean {
    return this.resumes.has(partition)
  }

  /** A chunk of the partition settled (stored, detected, committed): a pause ends. */
  settled(partition: number): void {
    this.resume(partition)
  }

  /**
   * A chunk was not stored, or not detected. When it is of the current generation and epoch and
   * the runner that fetched it still runs (`runnerAlive`), the generation ends and, unless the
   * consumer stops, the partition is read again from the chunk ('seek'). Otherwise reading resumes
   * from the committed offsets, which no chunk after this one has passed: nothing is sought. A
   * partition paused by a failing step is resumed (no later chunk would), except at stop.
   */
  abandon(ticket: Ticket, runnerAlive: boolean): AbandonDecision {
    if (!this.stopped) this.resume(ticket.partition)
    if (
      this.generation(ticket.partition) !== ticket.generation ||
      !runnerAlive ||
      this.epochs !== ticket.epoch
    )
      return 'none'
    this.generations.set(ticket.partition, ticket.generation + 1)
    return this.stopped ? 'none' : 'seek'
  }

  private resume(partition: number): void {
    const resume = this.resumes.get(partition)
    this.resumes.delete(partition)
    resume?.()
  }
}

const key = (ticket: Ticket) => `${ticket.generation}:${ticket.epoch}`
