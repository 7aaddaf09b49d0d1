/**
 * Where the consumer validates its chunks: a worker thread (chunk-worker.ts) that decodes,
 * validates, enriches, encodes and runs the event rules, while the main thread fetches from Kafka,
 * writes to ClickHouse, records findings and commits. Over 300 000 events, the main thread went
 * from about 91 % busy to about 25 %, the worker about 80 %.
 *
 * Chunks go to one worker and come back in the order they were sent, so the rules see the events
 * in the order they were read, as before. Rows never cross threads as objects (a structured clone
 * of a row costs about 14 us): the worker sends back the encoded insert body (moved, not copied),
 * each event's tenant, id and occurred_at, why the others were refused, and the rules'
 * detections. The refused messages' rows and DLQ messages are built here, from the messages.
 *
 * A worker that dies (out of memory, a fault in native code) takes its chunks in flight with
 * it: they are refused, and the consumer reads them again. Chunks sent after a death wait until
 * a replacement has started with the token state `restoreStates` gives (the consumer's: rebuilt
 * from the stored events once the writes queued before the death are done, as a restarted
 * process rebuilds it). A replacement started with no state would take the next presentation of
 * every token at another audience for its first.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads'
import type { KafkaMessage } from 'kafkajs'
import type { EvaluationHandOff, RuleDetections, TokenStates } from '../detection/engine.js'
import type { Logger } from '../logger.js'
import type { ResourceRegistry } from '../resource-registry.js'
import type { EncodedEvents } from '../storage/events-store.js'
import { dlqMessage, type OutgoingMessage } from './dlq.js'
import { packMessages, type ChunkInput, type ValidatedChunk } from './chunk.js'
import { toRejectedRow, type RejectedRow } from '../events/rejected-row.js'

export interface Chunk {
  events: EncodedEvents
  rejected: RejectedRow[]
  dlq: OutgoingMessage[]
  detections: RuleDetections
}

export interface WorkerInit {
  retentionDays: number
  registry?: ResourceRegistry['entries']
  evaluation?: EvaluationHandOff
  /** Take each row's digest for the integrity chain (false when chaining is off). */
  digests?: boolean
}

export type WorkerReply =
  | { id: number; ok: true; chunk: ValidatedChunk; ruleErrors: [string, string][] }
  | { id: number; ok: false; error: string }

export interface ChunkValidator {
  /**
   * The chunk validated. `wanted`, asked just before the chunk is sent to the worker (it may wait
   * for a replacement), refuses it unsent when false: its partition is to be read again anyway.
   */
  toChunk(
    messages: readonly KafkaMessage[],
    topic: string,
    partition: number,
    wanted?: () => boolean,
  ): Promise<Chunk>
  /**
   * Refuses, unsent, the chunks waiting for a replacement now and until it has started (a
   * consumer that stops does not wait for a restore: they are read again by the next reader).
   */
  refuseWaiting(): void
  /** Ends the worker; chunks in flight, or waiting for a replacement, are refused. */
  close(): Promise<void>
}

/** Why a chunk was refused before it reached the worker (see ChunkValidator.toChunk). */
export class ChunkNotWanted extends Error {
  constructor() {
    super('validation worker: chunk not sent (its partition is read again)')
  }
}

export interface ValidatorOptions {
  retentionDays: number
  registry?: ResourceRegistry
  /** Take each row's digest for the integrity chain (default true; false when chaining is off). */
  digests?: boolean
  /** The event rules' settings and token state (StreamingDetector.handOff). */
  evaluation?: EvaluationHandOff
  /**
   * The token states for a worker started after another died. Called once per death, when the
   * death is seen; when it fails, the new worker starts without state (logged).
   */
  restoreStates?: () => Promise<TokenStates>
  logger: Logger
}

/** The time and the waits of a validator's restarts (a parameter so that tests can run them). */
export interface ValidatorClock {
  now(): number
  sleep(ms: number): Promise<void>
}

const SYSTEM_CLOCK: ValidatorClock = {
  now: () => Date.now(),
  // A wait that does not keep the process alive.
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()),
}

/**
 * How long to wait before starting the worker after a death at `now`: deaths in a row (each
 * within a minute of the one before) wait 1 s, then twice as long each time, up to 30 s; a death
 * after a quiet minute starts the next worker at once.
 */
function restartBackoff(now: number, lastDeath: number, previousMs: number): number {
  return now - lastDeath < 60_000 ? Math.min(30_000, Math.max(1000, previousMs * 2)) : 0
}

/** Starts a validation worker (a parameter so that tests can hold the workers they start). */
export type WorkerFactory = (script: string | URL, options: WorkerOptions) => Worker
const newWorker: WorkerFactory = (script, options) => new Worker(script, options)

/**
 * The worker's young generation. Each event leaves short-lived objects (the parsed JSON, zod's
 * output, the row, its line), and garbage collection took 15 % of the worker at V8's default.
 * 300 000 events through `audtrail consume`: 18 900 to 19 900 events/s at the default, 20 400 at
 * 48 MB, 19 600 to 21 500 at 96, 21 900 at 192, 21 100 at 256 (two cores, broker on them too).
 */
const YOUNG_GENERATION_MB = 128

/**
 * The worker's script. Built, it is chunk-worker.js beside this file. Run from the TypeScript
 * sources (the tests), the worker registers tsx's loader first: a worker does not inherit it.
 * tsx is found through its public entry point `tsx/esm/api` (never a path inside its package).
 */
function workerScript(): { script: string | URL; eval: boolean } {
  const here = import.meta.url
  if (!here.endsWith('.ts')) return { script: new URL('./chunk-worker.js', here), eval: false }
  const api = import.meta.resolve('tsx/esm/api')
  const worker = new URL('./chunk-worker.ts', here)
  const code = `(async () => {
    const { register } = await import(${JSON.stringify(api)})
    register()
    await import(${JSON.stringify(worker.href)})
  })()`
  return { script: code, eval: true }
}

export function startChunkValidator(
  options: ValidatorOptions,
  startWorker: WorkerFactory = newWorker,
  clock: ValidatorClock = SYSTEM_CLOCK,
): ChunkValidator {
  const log = options.logger.child({ component: 'validation-worker' })
  const pending = new Map<
    number,
    { resolve: (r: ValidatedChunk) => void; reject: (e: Error) => void }
  >()
  let nextId = 0
  let closed = false
  const init: WorkerInit = {
    retentionDays: options.retentionDays,
    registry: options.registry?.entries,
    evaluation: options.evaluation,
    digests: options.digests,
  }
  let worker = spawn(init)
  /** Settled when `worker` takes chunks, or the validator closed (a replacement waits for state). */
  let ready: Promise<void> = Promise.resolve()
  let lastDeath = -Infinity
  let backoffMs = 0
  let signalClosed = () => {}
  const whenClosed = new Promise<void>((resolve) => (signalClosed = resolve))
  /** A replacement is being started (its state restored, its backoff waited). */
  let replacing = false
  let refusing = false
  let signalRefusing = () => {}
  const whenRefusing = new Promise<void>((resolve) => (signalRefusing = resolve))

  function spawn(data: WorkerInit): Worker {
    const { script, eval: isEval } = workerScript()
    const w = startWorker(script, {
      eval: isEval,
      workerData: data,
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    })
    w.on('message', (reply: WorkerReply) => {
      const waiting = pending.get(reply.id)
      pending.delete(reply.id)
      if (!reply.ok) return waiting?.reject(new Error(`validation worker: ${reply.error}`))
      for (const [rule, err] of reply.ruleErrors)
        log.error({ rule, err }, 'rule failed on an event')
      waiting?.resolve(reply.chunk)
    })
    w.on('error', (err) => log.error({ err: String(err) }, 'validation worker failed'))
    w.on('exit', (code) => {
      if (closed || w !== worker) return
      // Whatever was in flight is refused (the consumer leaves those chunks uncommitted), and a
      // new worker takes the next chunks once its token state is restored.
      for (const { reject } of pending.values())
        reject(new Error(`validation worker exited (code ${code})`))
      pending.clear()
      replacing = true
      ready = replace(code).finally(() => (replacing = false))
    })
    return w
  }

  async function replace(code: number): Promise<void> {
    // Deaths in a row wait longer before the next start, so that a worker that dies at once is
    // not started, with a restore each time, as fast as it dies.
    const now = clock.now()
    backoffMs = restartBackoff(now, lastDeath, backoffMs)
    lastDeath = now
    let restoring: Promise<TokenStates> | undefined
    try {
      // Called now, not after a tick: the consumer takes the writes queued so far as those to
      // wait for.
      restoring = init.evaluation ? options.restoreStates?.() : undefined
    } catch (err) {
      restoring = Promise.reject(err)
    }
    log.error(
      { code, restartInMs: backoffMs },
      restoring
        ? 'validation worker exited; starting another with the token state rebuilt from stored events'
        : 'validation worker exited; starting another',
    )
    let states: TokenStates = []
    if (restoring)
      try {
        // Raced with close once per death (not per chunk: a race leaves a reaction on
        // `whenClosed` until it settles), so that `ready` settles when the validator closes.
        states = await Promise.race([restoring, whenClosed.then((): TokenStates => [])])
        if (!closed) log.info({ tokens: states.length }, 'token state restored for the new worker')
      } catch (err) {
        if (!closed)
          log.error({ err: String(err) }, 'token state not restored; the new worker has none')
      }
    for (let attempt = 0; !closed; attempt++) {
      if (backoffMs > 0 || attempt > 0)
        await Promise.race([clock.sleep(Math.max(backoffMs, 1000 * attempt)), whenClosed])
      if (closed) return
      try {
        worker = spawn({ ...init, evaluation: init.evaluation && { ...init.evaluation, states } })
        return
      } catch (err) {
        log.error({ err: String(err), attempt }, 'validation worker could not be started')
      }
    }
  }
  // The hand-off's token states were copied into the first worker: not kept here too.
  if (init.evaluation) init.evaluation = { ...init.evaluation, states: [] }

  return {
    async toChunk(messages, topic, partition, wanted) {
      if (closed) throw new Error('validation worker: closed')
      const { payloads, bounds } = packMessages(messages.map((m) => m.value))
      // Calls waiting for a replacement resume in the order they were made: chunks still reach
      // the worker in the order they were read.
      // A race only while a replacement is pending: each leaves a reaction on `whenRefusing`,
      // which may never settle, and at most the consumer's lookahead of chunks waits at once.
      if (replacing) await Promise.race([ready, whenRefusing])
      else await ready
      if (closed) throw new Error('validation worker: closed')
      if ((refusing && replacing) || (wanted && !wanted())) throw new ChunkNotWanted()
      const receivedAt = Date.now()
      const input: ChunkInput = { payloads, bounds, receivedAt }
      const id = nextId++
      const validated = await new Promise<ValidatedChunk>((resolve, reject) => {
        pending.set(id, { resolve, reject })
        worker.postMessage({ id, input }, [payloads.buffer as ArrayBuffer])
      })
      const rejected: RejectedRow[] = []
      const dlq: OutgoingMessage[] = []
      for (const { index, ...refusal } of validated.rejected) {
        const m = messages[index]!
        const row = toRejectedRow({
          ...refusal,
          transport: 'kafka',
          sourceRef: `${topic}/${partition}/${m.offset}`,
          payload: m.value ?? Buffer.alloc(0),
          receivedAt,
        })
        rejected.push(row)
        dlq.push(dlqMessage(m.value, row, m.key))
      }
      return { events: validated.events, rejected, dlq, detections: validated.detections }
    },
    refuseWaiting() {
      refusing = true
      signalRefusing()
    },
    async close() {
      closed = true
      signalClosed()
      for (const { reject } of pending.values()) reject(new Error('validation worker: closed'))
      pending.clear()
      await worker.terminate()
    },
  }
}
