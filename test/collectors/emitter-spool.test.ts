import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { appendFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createEmitter, type Transport } from '../../src/collectors/emitter/index.js'
import type { AuditEvent } from '../../src/events/index.js'
import { captureLogs, ids, presented, startIngest, until, type Ingest } from './fixtures.js'

let dir: string
let ingest: Ingest
let up: boolean

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'audtrail-spool-test-'))
  ingest = await startIngest()
  up = false
  ingest.respond = () => ({ status: up ? 200 : 503 })
})

afterEach(async () => {
  await ingest.close()
  rmSync(dir, { recursive: true, force: true })
})

const segments = () =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.ndjson'))
    .sort()
const spooledIds = () =>
  segments().flatMap((f) =>
    readFileSync(path.join(dir, f), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as AuditEvent).event_id),
  )
const quick = { flushIntervalMs: 20, retryInitialMs: 20, retryMaxMs: 100 }

function httpEmitter(extra: Record<string, unknown> = {}) {
  return createEmitter({
    transport: { type: 'http', url: ingest.url },
    spoolDir: dir,
    ...quick,
    ...extra,
  })
}

describe('the disk spool', () => {
  it('takes the events while the transport answers 503, and replays them in order once it answers 200', async () => {
    const emitter = httpEmitter({ batchSize: 10 })
    const input = Array.from({ length: 35 }, (_, i) => presented(i)) as AuditEvent[]
    for (const e of input) emitter.emit(e)
    await until(() => emitter.stats().spooled === 35, 'events spooled')
    // NDJSON on disk, in emission order, owner-only.
    expect(spooledIds()).toEqual(ids(input))
    for (const f of segments()) expect(statSync(path.join(dir, f)).mode & 0o777).toBe(0o600)
    expect(emitter.stats()).toMatchObject({ queued: 0, sent: 0, transportUp: false })
    up = true
    await until(() => emitter.stats().sent === 35, 'replay')
    await emitter.flush() // the cycle that sent the last batch also deletes its segment
    expect(ids(ingest.received as AuditEvent[])).toEqual(ids(input))
    expect(emitter.stats()).toMatchObject({ spooled: 35, replayed: 35, dropped: 0, spoolBytes: 0 })
    expect(segments()).toEqual([])
    await emitter.close()
  })

  it('keeps global order when events keep coming during the replay', async () => {
    const emitter = httpEmitter({ batchSize: 5 })
    const input = Array.from({ length: 60 }, (_, i) => presented(i)) as AuditEvent[]
    for (const e of input.slice(0, 40)) emitter.emit(e)
    await until(() => emitter.stats().spooled === 40, 'events spooled')
    up = true
    for (const e of input.slice(40)) {
      emitter.emit(e)
      await new Promise((r) => setTimeout(r, 1))
    }
    await emitter.close()
    expect(ids(ingest.received as AuditEvent[])).toEqual(ids(input))
  })

  it('is replayed first, in order, when an emitter restarts on it', async () => {
    const first = httpEmitter()
    const old = Array.from({ length: 12 }, (_, i) => presented(i)) as AuditEvent[]
    for (const e of old) first.emit(e)
    await first.close()
    expect(first.stats()).toMatchObject({ spooled: 12, dropped: 0 })
    expect(spooledIds()).toEqual(ids(old))

    up = true
    const events: AuditEvent[] = []
    const second = createEmitter({ transport: { type: 'memory', events }, spoolDir: dir, ...quick })
    const fresh = [presented(100), presented(101)] as AuditEvent[]
    for (const e of fresh) second.emit(e)
    await second.close()
    expect(ids(events)).toEqual([...ids(old), ...ids(fresh)])
    expect(second.stats()).toMatchObject({ replayed: 12, sent: 14 })
    expect(segments()).toEqual([])
  })

  it('cuts off a torn last line from a crash, counts it, and replays the rest', async () => {
    const first = httpEmitter()
    const old = Array.from({ length: 3 }, (_, i) => presented(i)) as AuditEvent[]
    for (const e of old) first.emit(e)
    await first.close()
    appendFileSync(path.join(dir, segments()[0]!), '{"schema_version":1,"event_id":"trunc')
    const events: AuditEvent[] = []
    const second = createEmitter({ transport: { type: 'memory', events }, spoolDir: dir })
    await second.close()
    expect(ids(events)).toEqual(ids(old))
    expect(second.stats().dropReasons.spool_corrupt).toBe(1)
  })

  it('skips and counts lines that are not valid events, never sending them', async () => {
    const first = httpEmitter()
    for (const e of [presented(1), presented(2)]) first.emit(e)
    await first.close()
    const file = path.join(dir, segments()[0]!)
    const [a, b] = readFileSync(file, 'utf8').split('\n')
    const forged = JSON.stringify({ ...JSON.parse(a!), token: { jti: 'x', fingerprint: 'raw' } })
    writeFileSync(file, `${a}\nnot json\n${forged}\n${b}\n`)
    const events: AuditEvent[] = []
    const second = createEmitter({ transport: { type: 'memory', events }, spoolDir: dir })
    await second.close()
    expect(events).toHaveLength(2)
    expect(second.stats().dropReasons.spool_corrupt).toBe(2)
  })

  it('settles when a spool file is truncated behind its back, delivering the whole lines left', async () => {
    const emitter = httpEmitter({ batchSize: 100 })
    const input = Array.from({ length: 6 }, (_, i) => presented(i)) as AuditEvent[]
    for (const e of input) emitter.emit(e)
    await until(() => emitter.stats().spooled === 6, 'events spooled')
    const file = path.join(dir, segments()[0]!)
    const text = readFileSync(file, 'utf8')
    const cut = text.split('\n').slice(0, 3).join('\n').length + 1 + 40
    writeFileSync(file, text.slice(0, cut))
    up = true
    await emitter.flush()
    await emitter.flush()
    expect(ids(ingest.received as AuditEvent[])).toEqual(ids(input.slice(0, 3)))
    expect(emitter.stats()).toMatchObject({ transportUp: true, queued: 0 })
    await emitter.close()
  })

  it('rotates segments and deletes each one once it is replayed', async () => {
    const emitter = httpEmitter({ batchSize: 100, maxSpoolBytes: 512 << 10 })
    const input = Array.from({ length: 800 }, (_, i) => presented(i)) as AuditEvent[]
    for (const e of input) emitter.emit(e)
    await until(() => emitter.stats().spooled === 800, 'events spooled')
    expect(segments().length).toBeGreaterThan(2)
    expect(spooledIds()).toEqual(ids(input))
    up = true
    await until(() => emitter.stats().sent === 800, 'replay')
    await emitter.flush()
    expect(ids(ingest.received as AuditEvent[])).toEqual(ids(input))
    expect(segments()).toEqual([])
    await emitter.close()
  })

  it('is capped at maxSpoolBytes: then events stay in memory up to maxQueue, beyond which they are dropped and counted', async () => {
    const emitter = httpEmitter({ maxSpoolBytes: 4_096, maxQueue: 20, batchSize: 5 })
    const input = Array.from({ length: 60 }, (_, i) => presented(i)) as AuditEvent[]
    for (const e of input) {
      emitter.emit(e)
      await new Promise((r) => setTimeout(r, 1))
    }
    await until(() => emitter.stats().dropped > 0, 'drops')
    const s = emitter.stats()
    expect(s.spoolBytes).toBeLessThanOrEqual(4_096)
    expect(s.spooled).toBeGreaterThan(0)
    expect(s.dropReasons.queue_full).toBe(s.dropped)
    expect(s.spooled + s.queued + s.dropped).toBe(60)
    up = true
    await emitter.close()
    // Everything kept arrives, in emission order; what was dropped was the newest at the time.
    const index = new Map(ids(input).map((id, i) => [id, i]))
    const positions = ids(ingest.received as AuditEvent[]).map((id) => index.get(id)!)
    expect(positions).toHaveLength(60 - s.dropped)
    expect(positions).toEqual([...positions].sort((a, b) => a - b))
  })

  it('belongs to one emitter: a second one on the same directory runs without spooling', async () => {
    const { logger, lines } = captureLogs()
    const first = httpEmitter()
    await first.flush()
    const down: Transport = {
      name: 'down',
      send: () => Promise.reject(new Error('x')),
      close: async () => {},
    }
    const second = createEmitter({ transport: down, spoolDir: dir, logger, closeTimeoutMs: 100 })
    second.emit(presented(1))
    await second.flush()
    expect(second.stats()).toMatchObject({ spooled: 0, queued: 1 })
    expect(lines.some((l) => l.includes('spool unavailable'))).toBe(true)
    await second.close()
    await first.close()
  })

  it('takes over the lock left by a process that no longer exists', async () => {
    writeFileSync(path.join(dir, 'audtrail-spool.lock'), '999999999:gone\n')
    const emitter = httpEmitter()
    emitter.emit(presented(1))
    await emitter.close()
    expect(emitter.stats().spooled).toBe(1)
  })
})
