/** createEmitter: validate at emit, batch by size and time, spool to disk while the transport is down. */
import { parseEvent } from '../../events/parse.js'
import { holdsRawJwt } from '../../events/raw-token.js'
import { reduceEvent } from '../../events/reduce.js'
import type { AuditEvent, AuditEventInput } from '../../events/schema.js'
import type { Emitter } from '../types.js'
import { EMIT_BUILT } from './built.js'
import { onProcessExit } from './exit.js'
import { errorMessage, TransportHealth } from './health.js'
import { isTransport, resolveOptions, type EmitterOptions } from './options.js'
import { BoundedQueue } from './queue.js'
import { Spool } from './spool.js'
import {
  DropLog,
  ReducedLog,
  redactTokens,
  type Counters,
  type EmitterStatsDetail,
} from './stats.js'
import { attempt, settleWithin, withTimeout } from './timing.js'
import { createTransport } from './transports/index.js'
import type { OutboundEvent, Transport } from './transports/types.js'

export interface AudtrailEmitter extends Emitter {
  stats(): EmitterStatsDetail
}

type Queued = OutboundEvent & { at: number }

/**
 * Order: everything on the spool is older than everything in memory, so the spool is replayed
 * first and, while the transport is down, the queue is moved behind it (every flush interval):
 * events reach the transport in the order they were emitted. One cycle runs at a time.
 * Delivery is at least once: a batch whose outcome is unknown (a timeout, a crash before the
 * spool position is saved) is sent again, and consumers deduplicate by `event_id`.
 */
export function createEmitter(options: EmitterOptions): AudtrailEmitter {
  const o = resolveOptions(options)
  const log = o.logger.child({ component: 'audtrail-emitter' })
  const transport: Transport = isTransport(o.transport)
    ? o.transport
    : createTransport(o.transport, { logger: log, sendTimeoutMs: o.sendTimeoutMs })
  const health = new TransportHealth(log, transport.name, o.retryInitialMs, o.retryMaxMs)
  const queue = new BoundedQueue<Queued>(o.maxQueue)
  const counters: Counters = {
    emitted: 0,
    sent: 0,
    spooled: 0,
    replayed: 0,
    dropped: 0,
    failures: 0,
    rejected: 0,
    reduced: 0,
  }
  const drops = new DropLog(log, counters)
  const reducedLog = new ReducedLog(log)
  let spool: Spool | undefined
  let closed = false
  let closing: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined
  let timerAt = Infinity
  let running: Promise<void> | undefined
  let again: { force: boolean; done: Promise<void>; resolve: () => void } | undefined
  let spoolErrorAt = 0

  const ready = (async () => {
    if (o.spoolDir === undefined) return
    try {
      const opened = await Spool.open(o.spoolDir, o.maxSpoolBytes)
      spool = opened.spool
      drops.drop('spool_corrupt', opened.repaired, { why: 'torn last line cut off' })
      if (spool.hasPending) log.info({ bytes: spool.totalBytes }, 'replaying an existing spool')
    } catch (err) {
      log.error({ err: errorMessage(err), spoolDir: o.spoolDir }, 'spool unavailable; not spooling')
    }
  })()
  void ready.then(() => spool?.hasPending && arm(Date.now()))
  const unregister = o.closeOnExit ? onProcessExit(() => close()) : () => {}

  function emit(input: AuditEventInput): void {
    try {
      counters.emitted += 1
      if (closed) return drops.drop('closed')
      accept(input)
    } catch (err) {
      // Hostile input (a throwing getter, a Proxy) must not reach the host.
      try {
        emitReduced(input, [errorMessage(err)])
      } catch {
        // never throw from emit
      }
    }
  }

  /** Validates, encodes and queues one event (or its reduced form). */
  function accept(input: AuditEventInput): void {
    const result = parseEvent(input)
    if (!result.ok) return emitReduced(input, result.reasons)
    const json = JSON.stringify(result.event)
    if (tooLarge(json)) return emitReduced(input, ['(root): larger than maxEventBytes'])
    enqueue(result.event, json)
  }

  const tooLarge = (json: string) =>
    json.length * 3 > o.maxEventBytes && Buffer.byteLength(json) > o.maxEventBytes

  /**
   * An event a collector built and vouched for (built.ts): screened for raw JWTs and encoded;
   * anything unexpected (a raw JWT, too large) takes the ordinary path, which decides as always.
   */
  function emitBuilt(event: AuditEvent): void {
    try {
      counters.emitted += 1
      if (closed) return drops.drop('closed')
      if (holdsRawJwtAnywhere(event, 0)) return accept(event)
      const json = JSON.stringify(event)
      if (tooLarge(json)) return accept(event)
      enqueue(event, json)
    } catch (err) {
      try {
        emitReduced(event, [errorMessage(err)])
      } catch {
        // never throw from emit
      }
    }
  }

  function enqueue(event: AuditEvent, json: string): void {
    if (!queue.push({ event, json, at: Date.now() })) return drops.drop('queue_full')
    const now = Date.now()
    if (health.down) arm(Math.min(now + o.flushIntervalMs, health.retryAt))
    else arm(queue.length >= o.batchSize ? now : now + o.flushIntervalMs)
  }

  /**
   * What a client wrote into a request never decides whether it is recorded: an event the contract
   * refuses whole is sent reduced to what passes, marked `attributes.reduced` and counted. Only an
   * event whose identity itself is refused (a collector's bug) is dropped as `invalid`.
   */
  function emitReduced(input: unknown, reasons: readonly string[]): void {
    const result = reduceEvent(input, { maxBytes: o.maxEventBytes })
    if (!result.ok) {
      const all = [...reasons, ...result.reasons].slice(0, 5).map(redactTokens)
      return drops.drop('invalid', 1, { reasons: all })
    }
    counters.reduced += 1
    reducedLog.note(result.event.event_id, result.reduced)
    enqueue(result.event, JSON.stringify(result.event))
  }

  function arm(at: number): void {
    if (closed || (timer !== undefined && timerAt <= at)) return
    clearTimeout(timer)
    timerAt = at
    timer = setTimeout(
      () => {
        timer = undefined
        timerAt = Infinity
        void run(false)
      },
      Math.max(0, at - Date.now()),
    )
    timer.unref()
  }

  /** Runs one cycle, or schedules one after the cycle in progress. Never rejects. */
  function run(force: boolean): Promise<void> {
    if (running !== undefined) {
      if (again === undefined) {
        let resolve!: () => void
        const done = new Promise<void>((r) => (resolve = r))
        again = { force, done, resolve }
      }
      again.force ||= force
      return again.done
    }
    running = cycle(force)
      .catch((err) => log.error({ err: errorMessage(err) }, 'emitter cycle failed'))
      .finally(() => {
        running = undefined
        const next = again
        again = undefined
        if (next !== undefined) void run(next.force).then(next.resolve)
        else rearm()
      })
    return running
  }

  function rearm(): void {
    const now = Date.now()
    if (health.down && (queue.length > 0 || spool?.hasPending))
      arm(Math.min(now + o.flushIntervalMs, health.retryAt))
    else if (spool?.hasPending || queue.length >= o.batchSize) arm(now)
    else if (queue.length > 0) arm(queue.peek(1)[0]!.at + o.flushIntervalMs)
  }

  async function cycle(force: boolean): Promise<void> {
    await ready
    if (!force && health.waiting()) return spill()
    if (spool?.hasPending && !(await replay())) return spill()
    while (queue.length > 0) {
      const oldest = queue.peek(1)[0]!.at
      if (!force && queue.length < o.batchSize && Date.now() < oldest + o.flushIntervalMs) return
      const batch = queue.peek(o.batchSize)
      if ((await deliver(batch)) === undefined) return spill()
      queue.drop(batch.length)
    }
  }

  /** Sends the spool, oldest first; false when the transport failed. */
  async function replay(): Promise<boolean> {
    while (spool?.hasPending) {
      // Newer events go behind the spool on disk rather than piling up in memory.
      if (queue.length >= o.maxQueue / 2) await spill()
      const read = await spool.read(o.batchSize)
      if (read.items.length === 0 && read.corrupt === 0) break
      drops.drop('spool_corrupt', read.corrupt)
      if (read.items.length > 0) {
        const sent = await deliver(read.items)
        if (sent === undefined) return false
        counters.replayed += sent
      }
      await spool.commit(read.next)
    }
    return true
  }

  /** Sends one batch; resolves to the number sent (rejections excluded), undefined on failure. */
  async function deliver(batch: readonly OutboundEvent[]): Promise<number | undefined> {
    let result: Awaited<ReturnType<Transport['send']>>
    try {
      result = await withTimeout(
        attempt(() => transport.send(batch.slice())),
        o.sendTimeoutMs,
      )
    } catch (err) {
      counters.failures += 1
      health.failed(err, spool !== undefined)
      return undefined
    }
    health.succeeded()
    const rejected = new Map<number, string>()
    for (const r of result?.rejected ?? [])
      if (Number.isInteger(r.index) && r.index >= 0 && r.index < batch.length)
        rejected.set(r.index, String(r.reason).slice(0, 200))
    for (const [index, reason] of [...rejected].slice(0, 10))
      log.warn(
        { event_id: batch[index]!.event.event_id, reason },
        'event rejected by the transport',
      )
    counters.rejected += rejected.size
    counters.sent += batch.length - rejected.size
    return batch.length - rejected.size
  }

  /** Moves the queue, in order, to the spool; without one (or when full) events stay in memory. */
  async function spill(): Promise<void> {
    while (spool !== undefined && queue.length > 0) {
      const batch = queue.peek(o.batchSize * 10)
      let written: number
      try {
        written = await spool.append(batch)
      } catch (err) {
        if (Date.now() - spoolErrorAt > 10_000)
          log.error({ err: errorMessage(err) }, 'spool write failed; events stay in memory')
        spoolErrorAt = Date.now()
        return
      }
      counters.spooled += written
      queue.drop(written)
      if (written < batch.length) return
    }
  }

  async function flush(): Promise<void> {
    if (closing !== undefined) return closing
    await run(true)
  }

  function close(): Promise<void> {
    closing ??= (async () => {
      closed = true
      unregister()
      clearTimeout(timer)
      if (!(await settleWithin(() => run(true), o.closeTimeoutMs)))
        log.warn({ queued: queue.length }, 'close timed out; dropping what is left in memory')
      drops.drop('closed', queue.length)
      queue.clear()
      await settleWithin(() => transport.close(), 5_000)
      await spool?.close().catch(() => {})
    })().catch((err) => log.error({ err: errorMessage(err) }, 'close failed'))
    return closing
  }

  function stats(): EmitterStatsDetail {
    return {
      ...counters,
      queued: queue.length,
      dropReasons: { ...drops.reasons },
      spoolBytes: spool?.totalBytes ?? 0,
      transportUp: !health.down,
    }
  }

  const emitter: AudtrailEmitter = { emit, flush, close, stats }
  // Not enumerable, not in the public type: only a collector of this package reaches it.
  Object.defineProperty(emitter, EMIT_BUILT, { value: emitBuilt })
  return emitter
}

/** A string or key of `value` holds a raw JWT (the screen parseEvent applies); too deep counts. */
function holdsRawJwtAnywhere(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return holdsRawJwt(value)
  if (value === null || typeof value !== 'object') return false
  if (depth > 16) return true
  if (Array.isArray(value)) {
    for (const item of value) if (holdsRawJwtAnywhere(item, depth + 1)) return true
    return false
  }
  for (const key in value) {
    if (holdsRawJwt(key)) return true
    if (holdsRawJwtAnywhere((value as Record<string, unknown>)[key], depth + 1)) return true
  }
  return false
}
