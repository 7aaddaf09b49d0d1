import { spawn } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  createEmitter,
  type OutboundEvent,
  type Transport,
} from '../../src/collectors/emitter/index.js'
import type { AuditEvent } from '../../src/events/index.js'
import { captureLogs, ids, presented, startIngest, type Ingest } from './fixtures.js'

/** A transport the test switches down and up; `throwSync` makes `send` throw before any promise. */
function switchable() {
  const sent: AuditEvent[] = []
  const state = { down: false, throwSync: false, calls: 0 }
  const transport: Transport = {
    name: 'switchable',
    send(batch: readonly OutboundEvent[]) {
      state.calls += 1
      if (state.throwSync) throw new Error('transport exploded synchronously')
      if (state.down) return Promise.reject(new Error('peer unavailable'))
      sent.push(...batch.map((b) => b.event))
      return Promise.resolve()
    },
    close: async () => {},
  }
  return { transport, sent, state }
}

describe('emit', () => {
  it('validates every event: an invalid one is dropped and counted, never thrown into the caller', async () => {
    const events: AuditEvent[] = []
    const { logger, lines } = captureLogs()
    const emitter = createEmitter({ transport: { type: 'memory', events }, logger })
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('hostile getter')
        },
        ownKeys() {
          throw new Error('hostile keys')
        },
      },
    )
    expect(() => emitter.emit({ nope: true } as never)).not.toThrow()
    expect(() => emitter.emit(null as never)).not.toThrow()
    expect(() => emitter.emit(hostile as never)).not.toThrow()
    emitter.emit(presented(1))
    await emitter.flush()
    expect(events).toHaveLength(1)
    expect(emitter.stats()).toMatchObject({
      emitted: 4,
      sent: 1,
      dropped: 3,
      dropReasons: { invalid: 3 },
    })
    expect(lines.some((l) => l.includes('audit events dropped'))).toBe(true)
    await emitter.close()
  })

  it('never logs a token, even one a careless producer put in an attribute key', async () => {
    // A JWT key, and an opaque token as a key too long for the contract: the event is sent
    // without it, and neither the log nor the event names it.
    const jwt = `eyJhbGciOiJFUzI1NiJ9.${'a'.repeat(150)}.signature_part_0123456789`
    const opaque = `tk_${'Z9'.repeat(150)}`
    for (const token of [jwt, opaque]) {
      const { logger, lines } = captureLogs('trace')
      const events: AuditEvent[] = []
      const emitter = createEmitter({ transport: { type: 'memory', events }, logger })
      emitter.emit({ ...presented(1), attributes: { [token]: true } })
      await emitter.close()
      // Sent without the key, marked, counted; never dropped.
      expect(emitter.stats()).toMatchObject({ reduced: 1, dropped: 0, sent: 1 })
      expect(events[0]!.attributes).toEqual({ reduced: ['attributes.(a key)'] })
      expect(lines.some((l) => l.includes('audit event reduced'))).toBe(true)
      for (const line of [...lines, JSON.stringify(events)])
        expect(line).not.toContain(token.slice(0, 40))
    }
  })

  it('keeps the producer fields: event_id and occurred_at are never stamped by the emitter', async () => {
    const events: AuditEvent[] = []
    const emitter = createEmitter({ transport: { type: 'memory', events } })
    const input = presented(1)
    emitter.emit(input)
    await emitter.close()
    expect(events[0]!.event_id).toBe(input.event_id)
    expect(events[0]!.occurred_at).toBe(input.occurred_at)
  })

  it('sends an event whose JSON exceeds maxEventBytes reduced to fit, marked and counted', async () => {
    const events: AuditEvent[] = []
    const emitter = createEmitter({ transport: { type: 'memory', events }, maxEventBytes: 2_048 })
    emitter.emit({ ...presented(1), attributes: { note: 'x'.repeat(4_000) } })
    emitter.emit(presented(2))
    await emitter.close()
    expect(events).toHaveLength(2)
    expect(Buffer.byteLength(JSON.stringify(events[0]))).toBeLessThanOrEqual(2_048)
    expect(events[0]!.attributes!.reduced).toContain('attributes.note')
    expect(emitter.stats()).toMatchObject({ reduced: 1, dropped: 0 })
  })
})

describe('batching', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('sends a full batch at once and a partial batch after the flush interval', async () => {
    const { transport, sent, state } = switchable()
    const emitter = createEmitter({ transport, batchSize: 5, flushIntervalMs: 1_000 })
    for (let i = 0; i < 7; i++) emitter.emit(presented(i))
    await vi.advanceTimersByTimeAsync(0)
    expect(sent).toHaveLength(5)
    expect(state.calls).toBe(1)
    await vi.advanceTimersByTimeAsync(998)
    expect(sent).toHaveLength(5)
    await vi.advanceTimersByTimeAsync(2)
    expect(sent).toHaveLength(7)
    expect(state.calls).toBe(2)
    await emitter.close()
  })

  it('returns from emit before anything is sent', async () => {
    const { transport, sent } = switchable()
    const emitter = createEmitter({ transport, batchSize: 1 })
    emitter.emit(presented(1))
    expect(sent).toHaveLength(0)
    expect(emitter.stats().queued).toBe(1)
    await vi.advanceTimersByTimeAsync(0)
    expect(sent).toHaveLength(1)
    await emitter.close()
  })

  it('retries a down transport with exponential backoff and resets it after a success', async () => {
    const { transport, sent, state } = switchable()
    state.down = true
    vi.spyOn(Math, 'random').mockReturnValue(0.5) // no jitter
    const emitter = createEmitter({
      transport,
      batchSize: 1,
      flushIntervalMs: 10_000,
      retryInitialMs: 100,
      retryMaxMs: 400,
    })
    emitter.emit(presented(1))
    await vi.advanceTimersByTimeAsync(0)
    expect(state.calls).toBe(1)
    for (const [wait, calls] of [
      [99, 1],
      [1, 2],
      [199, 2],
      [1, 3],
      [400, 4],
      [400, 5],
    ] as const) {
      await vi.advanceTimersByTimeAsync(wait)
      expect(state.calls).toBe(calls)
    }
    state.down = false
    await vi.advanceTimersByTimeAsync(400)
    expect(sent).toHaveLength(1)
    expect(emitter.stats()).toMatchObject({ failures: 5, sent: 1, transportUp: true })
    vi.restoreAllMocks()
    await emitter.close()
  })
})

describe('bounds', () => {
  it('drops and counts events beyond maxQueue when the transport is down and there is no spool', async () => {
    const { transport, sent, state } = switchable()
    state.down = true
    // Retries far in the future: only flush() tries the transport here.
    const emitter = createEmitter({ transport, maxQueue: 10, retryInitialMs: 600_000 })
    for (let i = 0; i < 15; i++) emitter.emit(presented(i))
    expect(emitter.stats()).toMatchObject({
      queued: 10,
      dropped: 5,
      dropReasons: { queue_full: 5 },
    })
    await emitter.flush()
    expect(emitter.stats()).toMatchObject({ queued: 10, failures: 1, transportUp: false })
    state.down = false
    await emitter.flush()
    expect(ids(sent)).toHaveLength(10)
    await emitter.close()
    const s = emitter.stats()
    expect(s.emitted).toBe(s.sent + s.dropped + s.rejected + s.queued)
  })

  it('survives a transport that throws synchronously, and delivers once it recovers', async () => {
    const { transport, sent, state } = switchable()
    state.throwSync = true
    const emitter = createEmitter({ transport, batchSize: 2, retryInitialMs: 600_000 })
    const events = [presented(1), presented(2), presented(3)]
    for (const e of events) expect(() => emitter.emit(e)).not.toThrow()
    await expect(emitter.flush()).resolves.toBeUndefined()
    expect(emitter.stats()).toMatchObject({ failures: 1, sent: 0, queued: 3 })
    state.throwSync = false
    await emitter.flush()
    expect(ids(sent)).toEqual(ids(events as AuditEvent[]))
    await emitter.close()
  })

  it('treats a send that never settles as failed after sendTimeoutMs', async () => {
    const transport: Transport = {
      name: 'stuck',
      send: () => new Promise(() => {}),
      close: async () => {},
    }
    const emitter = createEmitter({
      transport,
      sendTimeoutMs: 50,
      closeTimeoutMs: 200,
      retryInitialMs: 600_000,
    })
    emitter.emit(presented(1))
    await emitter.flush()
    expect(emitter.stats()).toMatchObject({ failures: 1, transportUp: false, queued: 1 })
    await emitter.close()
    expect(emitter.stats().dropReasons.closed).toBe(1)
  })
})

describe('close', () => {
  it('flushes everything queued before it resolves, and drops and counts later emits', async () => {
    const events: AuditEvent[] = []
    const emitter = createEmitter({
      transport: { type: 'memory', events },
      batchSize: 1_000,
      flushIntervalMs: 600_000,
    })
    const input = Array.from({ length: 25 }, (_, i) => presented(i))
    for (const e of input) emitter.emit(e)
    await emitter.close()
    expect(ids(events)).toEqual(ids(input as AuditEvent[]))
    emitter.emit(presented(99))
    expect(emitter.stats()).toMatchObject({ emitted: 26, sent: 25, dropReasons: { closed: 1 } })
    await expect(emitter.close()).resolves.toBeUndefined()
  })
})

describe('the http transport', () => {
  let ingest: Ingest
  beforeEach(async () => {
    ingest = await startIngest()
  })
  afterEach(async () => {
    await ingest.close()
  })

  it('POSTs a JSON array with the bearer token of the ingest role', async () => {
    const emitter = createEmitter({
      transport: { type: 'http', url: ingest.url, token: 'ingest-token-123' },
    })
    const input = [presented(1), presented(2)]
    for (const e of input) emitter.emit(e)
    await emitter.close()
    expect(ingest.requests).toEqual([
      {
        status: 200,
        authorization: 'Bearer ingest-token-123',
        contentType: 'application/json',
        count: 2,
      },
    ])
    expect(ids(ingest.received as AuditEvent[])).toEqual(ids(input as AuditEvent[]))
  })

  it('counts events the ingest endpoint rejects one by one as rejected, and does not retry them', async () => {
    ingest.respond = () => ({ status: 200, body: { rejected: [{ index: 1, reasons: ['bad'] }] } })
    const { logger, lines } = captureLogs()
    const emitter = createEmitter({ transport: { type: 'http', url: ingest.url }, logger })
    const input = [presented(1), presented(2), presented(3)]
    for (const e of input) emitter.emit(e)
    await emitter.close()
    expect(ingest.requests).toHaveLength(1)
    expect(emitter.stats()).toMatchObject({ sent: 2, rejected: 1, failures: 0 })
    expect(lines.some((l) => l.includes(input[1]!.event_id) && l.includes('rejected'))).toBe(true)
  })

  it('bisects a batch refused as a whole with 400, so only the offending event is rejected', async () => {
    ingest.respond = (batch) =>
      batch.some((e) => e.client_id === 'poison') ? { status: 400 } : { status: 200 }
    const emitter = createEmitter({ transport: { type: 'http', url: ingest.url }, batchSize: 8 })
    const input = Array.from({ length: 8 }, (_, i) => ({
      ...presented(i),
      ...(i === 5 && { client_id: 'poison' }),
    }))
    for (const e of input) emitter.emit(e)
    await emitter.close()
    expect(ids(ingest.received as AuditEvent[])).toEqual(
      ids(input.filter((_, i) => i !== 5) as AuditEvent[]),
    )
    expect(emitter.stats()).toMatchObject({ sent: 7, rejected: 1, failures: 0 })
  })

  it('keeps events on 401, 429 and 5xx (retriable) and delivers them once the endpoint recovers', async () => {
    const statuses = [401, 429, 503]
    ingest.respond = () => ({ status: statuses.shift() ?? 200 })
    const emitter = createEmitter({
      transport: { type: 'http', url: ingest.url },
      retryInitialMs: 600_000,
    })
    const input = [presented(1), presented(2)]
    for (const e of input) emitter.emit(e)
    for (let i = 0; i < 4; i++) await emitter.flush()
    expect(ingest.requests.map((r) => r.status)).toEqual([401, 429, 503, 200])
    expect(ids(ingest.received as AuditEvent[])).toEqual(ids(input as AuditEvent[]))
    expect(emitter.stats()).toMatchObject({ failures: 3, sent: 2, rejected: 0 })
    await emitter.close()
  })

  it('counts a network failure as retriable, without throwing', async () => {
    await ingest.close()
    const emitter = createEmitter({ transport: { type: 'http', url: ingest.url } })
    emitter.emit(presented(1))
    await emitter.flush()
    expect(emitter.stats()).toMatchObject({ failures: 1, queued: 1, transportUp: false })
    await emitter.close()
    ingest = await startIngest()
  })
})

describe('options', () => {
  it('are validated at creation, every problem reported at once in a TypeError', () => {
    expect(() =>
      createEmitter({
        transport: { type: 'http', url: 'ftp://user:pw@x' } as never,
        batchSize: 0,
        logger: {} as never,
      }),
    ).toThrow(/batchSize[\s\S]*transport\.url[\s\S]*logger/)
    expect(() => createEmitter({ transport: { type: 'kafka', brokers: [] } })).toThrow(TypeError)
    expect(() => createEmitter({ transport: { type: 'smoke' } as never })).toThrow(TypeError)
  })
})

describe('in a host process', () => {
  const entry = pathToFileURL(
    fileURLToPath(new URL('../../src/collectors/emitter/index.ts', import.meta.url)),
  ).href

  /** Runs a short ESM script in a child node (with tsx); resolves to its exit code. */
  function child(script: string, ...args: string[]): Promise<number | null> {
    return new Promise((resolve, reject) => {
      const proc = spawn(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script, ...args],
        {
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      )
      proc.once('error', reject)
      proc.once('exit', (code) => resolve(code))
    })
  }

  it('flushes queued events when the host exits on its own, and never keeps it alive', async () => {
    const ingest = await startIngest()
    const event = presented(1)
    const script = `
      import { createEmitter } from ${JSON.stringify(entry)}
      const emitter = createEmitter({
        transport: { type: 'http', url: process.argv[1] },
        batchSize: 1000,
        flushIntervalMs: 3600000,
      })
      emitter.emit(JSON.parse(process.argv[2]))`
    expect(await child(script, ingest.url, JSON.stringify(event))).toBe(0)
    expect(ids(ingest.received as AuditEvent[])).toEqual([event.event_id])
    await ingest.close()
  })

  it('with closeOnExit off, lets the host exit with events still queued (its timers are unref-ed)', async () => {
    const ingest = await startIngest()
    const script = `
      import { createEmitter } from ${JSON.stringify(entry)}
      const emitter = createEmitter({
        transport: { type: 'http', url: process.argv[1] },
        flushIntervalMs: 3600000,
        closeOnExit: false,
      })
      emitter.emit(JSON.parse(process.argv[2]))`
    expect(await child(script, ingest.url, JSON.stringify(presented(1)))).toBe(0)
    expect(ingest.received).toEqual([])
    await ingest.close()
  })
})
