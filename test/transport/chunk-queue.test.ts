/**
 * The consumer's write-then-settle queue and partition ledger without a broker: store, record,
 * commit, seek and pause are fakes that record what they were asked, in order. The real-broker
 * fault tests (consumer.test.ts, consumer-kill.test.ts, broker-restart.test.ts) run the same
 * queue against Kafka and the embedded engine.
 */
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logger.js'
import { Metrics, pipelineMetrics } from '../../src/metrics.js'
import { ChunkQueue } from '../../src/transport/chunk-queue.js'
import { PartitionLedger } from '../../src/transport/partition-ledger.js'
import { retrying } from '../../src/transport/retry.js'
import { seededRandom } from '../helpers/random.js'

interface TestChunk {
  partition: number
  first: number
  last: number
}

interface Deferred<T> {
  promise: Promise<T>
  resolve: (value: T) => void
  reject: (err: Error) => void
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (err: Error) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

/** A queue over fakes: every call is recorded in `calls`, in the order it happened. */
function harness(lookahead = 100) {
  const calls: string[] = []
  const ledger = new PartitionLedger()
  const metrics = pipelineMetrics(new Metrics())
  /** Per chunk (by `p:first`), how many store attempts fail before one succeeds. */
  const failures = new Map<string, number>()
  /** Per chunk, a store held until the test releases it. */
  const held = new Map<string, Deferred<void>>()
  /** Per partition: whether its batch is still current and its runner still runs. */
  const fetched = new Map<number, boolean>()
  const running = new Map<number, boolean>()
  let writing = 0
  let mostWriting = 0
  const name = (c: { partition: number; first: number }) => `${c.partition}:${c.first}`

  const queue = new ChunkQueue<TestChunk, number>({
    ledger,
    metrics,
    log: createLogger('silent'),
    lookahead,
    retryMs: { initial: 1, max: 1 },
    sleep: () => new Promise(() => {}),
    steps: {
      async store(chunk, retry) {
        calls.push(`store ${name(chunk)}`)
        return retrying('write', retry, async () => {
          writing += 1
          mostWriting = Math.max(mostWriting, writing)
          try {
            // A write in progress finishes whatever happens meanwhile.
            await held.get(name(chunk))?.promise
            const left = failures.get(name(chunk)) ?? 0
            if (left > 0) {
              failures.set(name(chunk), left - 1)
              calls.push(`store-failed ${name(chunk)}`)
              throw new Error('ClickHouse away')
            }
            return chunk.last - chunk.first + 1
          } finally {
            writing -= 1
          }
        })
      },
      async record() {},
      async commit(partition, offset) {
        calls.push(`commit ${partition}:${offset}`)
      },
      seek(partition, offset) {
        calls.push(`seek ${partition}:${offset}`)
      },
      done() {},
    },
  })

  /** Queue a chunk; its validation is held until `validated.resolve()` unless `ready`. */
  function add(partition: number, first: number, last: number, ready = true) {
    const validation = deferred<void>()
    const chunk = { partition, first, last }
    if (ready) validation.resolve()
    queue.enqueue({
      partition,
      firstOffset: String(first),
      lastOffset: String(last),
      messages: last - first + 1,
      started: 0,
      validate: async (wanted) => {
        await validation.promise
        if (!wanted()) {
          calls.push(`refused ${name(chunk)}`)
          throw new Error('not wanted')
        }
        calls.push(`validated ${name(chunk)}`)
        return chunk
      },
      fetched: () => fetched.get(partition) ?? true,
      runnerAlive: () => running.get(partition) ?? true,
      pause: () => {
        calls.push(`pause ${partition}`)
        return () => calls.push(`resume ${partition}`)
      },
      heartbeat: async () => {},
    })
    return validation
  }

  const only = (prefix: string) => calls.filter((c) => c.startsWith(prefix))
  return {
    calls,
    ledger,
    metrics,
    queue,
    failures,
    held,
    fetched,
    running,
    add,
    only,
    mostWriting: () => mostWriting,
  }
}

describe('the write-then-settle queue', () => {
  it.each(Array.from({ length: 40 }, (_, i) => i + 1))(
    'writes one chunk at a time and commits in queue order whatever order validations finish in (seed %i)',
    async (seed) => {
      const random = seededRandom(seed)
      const h = harness()
      const queued: { partition: number; first: number; last: number; v: Deferred<void> }[] = []
      const next = new Map<number, number>()
      for (let i = 0; i < 12; i++) {
        const partition = Math.floor(random() * 3)
        const first = next.get(partition) ?? 0
        const last = first + 1 + Math.floor(random() * 5)
        next.set(partition, last + 1)
        queued.push({ partition, first, last, v: h.add(partition, first, last, false) })
      }
      // Validations finish in a random order, some stores fail (and are retried).
      for (const q of queued)
        if (random() < 0.3)
          h.failures.set(`${q.partition}:${q.first}`, 1 + Math.floor(random() * 2))
      const order = [...queued].sort(() => random() - 0.5)
      for (const q of order) {
        q.v.resolve()
        if (random() < 0.5) await tick()
      }
      await h.queue.drained()

      expect(h.mostWriting()).toBe(1)
      expect(h.only('store ')).toEqual(queued.map((q) => `store ${q.partition}:${q.first}`))
      expect(h.only('commit')).toEqual(queued.map((q) => `commit ${q.partition}:${q.last + 1}`))
      expect(h.only('seek')).toEqual([])
      // Every pause was resumed: a failing partition is resumed by the chunk that settles.
      expect(h.only('pause').length).toBe(h.only('resume').length)
      expect(h.queue.size).toBe(0)
    },
  )

  it('a write that fails is retried with its partition paused, then committed and resumed', async () => {
    const h = harness()
    h.failures.set('0:0', 2)
    h.add(0, 0, 9)
    h.add(0, 10, 19)
    h.add(1, 0, 4)
    await h.queue.drained()
    // The next write overlaps this chunk's settle, so only each kind of call has one order.
    expect(h.only('store')).toEqual([
      'store 0:0',
      'store-failed 0:0',
      'store-failed 0:0',
      'store 0:10',
      'store 1:0',
    ])
    expect(h.only('commit')).toEqual(['commit 0:10', 'commit 0:20', 'commit 1:5'])
    const at = (call: string) => h.calls.indexOf(call)
    expect(h.only('pause')).toEqual(['pause 0'])
    expect(h.only('resume')).toEqual(['resume 0'])
    expect(at('pause 0')).toBeGreaterThan(at('store-failed 0:0'))
    expect(at('pause 0')).toBeLessThan(at('commit 0:10'))
    expect(at('resume 0')).toBeGreaterThan(at('commit 0:10'))
    expect(h.metrics.retries.get()).toBe(2)
  })

  it('a chunk whose validation fails is read again from it; the later chunks of its partition are neither sent, written nor committed', async () => {
    const h = harness()
    h.add(0, 0, 9)
    const second = h.add(0, 10, 19, false)
    h.add(1, 0, 4)
    const fourth = h.add(0, 20, 29, false)
    second.reject(new Error('validation worker exited (code 1)'))
    await tick()
    fourth.resolve()
    await h.queue.drained()
    expect(h.calls).toEqual(
      expect.arrayContaining(['refused 0:20', 'commit 0:10', 'seek 0:10', 'commit 1:5']),
    )
    expect(h.only('store ')).toEqual(['store 0:0', 'store 1:0'])
    expect(h.only('commit')).toEqual(['commit 0:10', 'commit 1:5'])
    expect(h.only('seek')).toEqual(['seek 0:10'])
    expect(h.ledger.generation(0)).toBe(1)
    expect(h.ledger.generation(1)).toBe(0)

    // The partition read again from the abandoned chunk: a new generation, written and committed.
    h.add(0, 10, 19)
    await h.queue.drained()
    expect(h.only('commit')).toEqual(['commit 0:10', 'commit 1:5', 'commit 0:20'])
  })

  it('a rebalance during a write: that write ends uncommitted, the chunks queued before it are not written, nothing is sought', async () => {
    const h = harness()
    const hold = deferred<void>()
    h.held.set('0:0', hold)
    h.add(0, 0, 9)
    h.add(0, 10, 19)
    h.add(1, 0, 4)
    await tick()
    expect(h.only('store ')).toEqual(['store 0:0'])
    h.ledger.rebalanced()
    hold.resolve()
    await h.queue.drained()
    expect(h.only('store ')).toEqual(['store 0:0'])
    expect(h.only('commit')).toEqual([])
    expect(h.only('seek')).toEqual([])

    // What the new assignment reads is queued in the new epoch: written and committed.
    h.add(0, 0, 9)
    await h.queue.drained()
    expect(h.only('commit')).toEqual(['commit 0:10'])
  })

  it('a partition revoked (its batch stale, the group rebalanced) drops its queued chunks without seeking', async () => {
    const h = harness()
    const hold = deferred<void>()
    h.held.set('1:0', hold)
    h.add(1, 0, 4)
    h.add(0, 0, 9)
    h.add(0, 10, 19)
    await tick()
    h.fetched.set(0, false)
    h.ledger.rebalanced()
    hold.resolve()
    await h.queue.drained()
    expect(h.only('store ')).toEqual(['store 1:0'])
    expect(h.only('commit')).toEqual([])
    expect(h.only('seek')).toEqual([])
  })

  it('after a crash of the runner that fetched it, a failed chunk is not sought: reading resumes from the commit', async () => {
    const h = harness()
    h.add(0, 0, 9)
    const second = h.add(0, 10, 19, false)
    h.running.set(0, false)
    second.reject(new Error('validation worker exited (code 1)'))
    await h.queue.drained()
    expect(h.only('seek')).toEqual([])
    expect(h.ledger.generation(0)).toBe(0)
  })

  it('a write failing during a rebalance stops retrying, resumes its partition and seeks nothing', async () => {
    const h = harness()
    h.failures.set('0:0', 1_000_000)
    h.add(0, 0, 9)
    while (h.only('pause').length === 0) await tick()
    h.ledger.rebalanced()
    await h.queue.drained()
    expect(h.only('pause')).toEqual(['pause 0'])
    expect(h.only('resume')).toEqual(['resume 0'])
    expect(h.only('commit')).toEqual([])
    expect(h.only('seek')).toEqual([])
  })

  it('at stop, chunks without a failure are still stored and committed; a failing one is left paused, unsought, with the rest of its partition', async () => {
    const h = harness()
    h.failures.set('0:0', 1_000_000)
    h.add(0, 0, 9)
    h.add(1, 0, 4)
    h.add(0, 10, 19)
    while (h.only('pause').length === 0) await tick()
    h.ledger.stop()
    await h.queue.drained()
    expect(h.only('store ')).toEqual(['store 0:0', 'store 1:0'])
    expect(h.only('commit')).toEqual(['commit 1:5'])
    expect(h.only('seek')).toEqual([])
    expect(h.only('resume')).toEqual([])
  })

  it('holds at most `lookahead` unsettled chunks', async () => {
    const h = harness(2)
    const hold = deferred<void>()
    h.held.set('0:0', hold)
    h.add(0, 0, 9)
    h.add(0, 10, 19)
    let room = false
    const waiting = h.queue.waitForRoom(
      () => true,
      async () => {},
    )
    void waiting.then((r) => (room = r))
    await tick()
    expect(room).toBe(false)
    hold.resolve()
    expect(await waiting).toBe(true)
    expect(h.queue.size).toBeLessThan(2)
    expect(
      await h.queue.waitForRoom(
        () => false,
        async () => {},
      ),
    ).toBe(false)
  })
})

describe('the partition ledger', () => {
  const decide = (setup: (l: PartitionLedger) => void, runnerAlive = true, partition = 0) => {
    const ledger = new PartitionLedger()
    const ticket = ledger.open(partition)
    setup(ledger)
    return { decision: ledger.abandon(ticket, runnerAlive), generation: ledger.generation(0) }
  }

  it.each([
    { when: 'the current generation and epoch', setup: () => {}, decision: 'seek', generation: 1 },
    { when: 'an epoch before a rebalance', setup: (l: PartitionLedger) => l.rebalanced() },
    { when: 'a runner since crashed', setup: () => {}, runnerAlive: false },
    { when: 'a consumer since stopping', setup: (l: PartitionLedger) => l.stop(), generation: 1 },
    {
      when: 'a generation an older chunk ended',
      setup: (l: PartitionLedger) => void l.abandon(l.open(0), true),
      generation: 1,
    },
  ])(
    'abandoning a chunk queued in $when',
    ({ setup, runnerAlive = true, decision = 'none', generation = 0 }) => {
      expect(decide(setup, runnerAlive)).toEqual({ decision, generation })
    },
  )

  it('a chunk is alive while fetched, in its generation and epoch, and not a failed one at stop', () => {
    const ledger = new PartitionLedger()
    const ok = ledger.open(0)
    const failing = ledger.open(0)
    ledger.failed(failing, () => () => {})
    expect(ledger.alive(ok, true)).toBe(true)
    expect(ledger.alive(ok, false)).toBe(false)
    expect(ledger.alive(failing, true)).toBe(true)
    ledger.stop()
    expect(ledger.alive(ok, true)).toBe(true)
    expect(ledger.alive(failing, true)).toBe(false)
    // At stop nothing more is sent for validation.
    expect(ledger.wanted(ok, true)).toBe(false)
  })

  it('a refused validation refuses the later chunks of its generation and epoch only', () => {
    const ledger = new PartitionLedger()
    const refused = ledger.open(0)
    const later = ledger.open(0)
    const other = ledger.open(1)
    ledger.refuse(refused)
    expect(ledger.wanted(later, true)).toBe(false)
    expect(ledger.wanted(other, true)).toBe(true)
    ledger.rebalanced()
    expect(ledger.wanted(ledger.open(0), true)).toBe(true)
  })

  it('pauses a partition once however many steps fail, and resumes it once', () => {
    const ledger = new PartitionLedger()
    const events: string[] = []
    const pause = () => {
      events.push('pause')
      return () => events.push('resume')
    }
    ledger.failed(ledger.open(0), pause)
    ledger.failed(ledger.open(0), pause)
    expect(ledger.paused(0)).toBe(true)
    ledger.settled(0)
    ledger.settled(0)
    expect(events).toEqual(['pause', 'resume'])
    expect(ledger.paused(0)).toBe(false)
  })
})
