/**
 * What the collector does to cost a request less must not change what it records: a vouched event
 * (not parsed again by the emitter, emitter/built.ts) is one parseEvent accepts unchanged,
 * whatever the request and the token held; anything doubtful takes the ordinary path; the
 * emitter's vouched path still screens raw JWTs; a host's own emitter wrapper always gets `emit`;
 * the one-shot fingerprint is fingerprintToken's value.
 */
import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { builtEventSink, EMIT_BUILT } from '../../src/collectors/emitter/built.js'
import { createEmitter } from '../../src/collectors/emitter/index.js'
import { ExpiringLru } from '../../src/collectors/rs/cache.js'
import { createCore } from '../../src/collectors/rs/core.js'
import type { Emitter, EmitterStats } from '../../src/collectors/types.js'
import { fingerprintToken } from '../../src/events/fingerprint.js'
import { parseEvent } from '../../src/events/parse.js'
import type { AuditEvent, AuditEventInput, TokenPresentedEvent } from '../../src/events/schema.js'
import { presented } from './fixtures.js'
import { ISSUER, RESOURCE, unsecured } from './rs/fixtures.js'

/** An emitter with the vouched path: records which path each event took. */
class TwoPathEmitter implements Emitter {
  readonly built: AuditEvent[] = []
  readonly ordinary: AuditEventInput[] = []
  emit(event: AuditEventInput): void {
    this.ordinary.push(event)
  }
  [EMIT_BUILT](event: AuditEvent): void {
    this.built.push(event)
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  stats(): EmitterStats {
    const n = this.built.length + this.ordinary.length
    return { emitted: n, sent: n, spooled: 0, replayed: 0, dropped: 0, failures: 0, queued: 0 }
  }
}

/** A request and response as Node hands them over; `writeHead` sets the status like Node's. */
function exchange(url: string, headers: Record<string, string>) {
  const raw = {
    method: 'POST',
    url,
    headers: { host: 'api-b.example', ...headers },
    socket: { remoteAddress: '127.0.0.1' },
  } as unknown as IncomingMessage
  const res = new EventEmitter() as unknown as ServerResponse & { headersSent: boolean }
  res.statusCode = 200
  res.headersSent = false
  res.getHeader = () => undefined
  res.writeHead = function (this: typeof res, status: number) {
    this.statusCode = status
    this.headersSent = true
    return this
  } as never
  return { raw, res }
}

/** JSON with sorted keys: the same event whatever order its keys were written in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  )
}

// Text an attacker controls: any code unit (controls, lone surrogates, escapes), long or short.
const hostileText = (max: number) =>
  fc.oneof(
    fc.string({ unit: 'binary', maxLength: max }),
    fc.string({ unit: 'grapheme-ascii', maxLength: max }),
    fc.constantFrom('', ' ', '%2e%2e', '\u0000', '\ud800', 'x'.repeat(300), 'é'.repeat(2100)),
  )

describe('vouched events', () => {
  it('are exactly what parseEvent accepts, whatever the request and the token hold', async () => {
    const sink = new TwoPathEmitter()
    const core = createCore<IncomingMessage>(
      { resource: RESOURCE, issuer: ISSUER, mode: 'observe', emitter: sink, cacheSize: 0 },
      { kind: 'mcp_server' },
    )
    const taken = { built: 0, ordinary: 0 }
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          path: hostileText(2200),
          userAgent: hostileText(1100),
          session: hostileText(300),
          mcpName: hostileText(300),
          status: fc.integer({ min: 100, max: 999 }),
          tool: hostileText(300),
          method: fc.constantFrom('tools/call', 'prompts/get', 'x'.repeat(257)),
          batch: fc.boolean(),
          aud: fc.array(hostileText(2100), { maxLength: 70 }),
          scope: hostileText(600),
          ident: hostileText(300),
          // The token copied into the request's own texts: cut out, which can lengthen them.
          echo: fc.constantFrom('none', 'path', 'ua', 'session', 'tool'),
        }),
        async (r) => {
          sink.built.length = 0
          sink.ordinary.length = 0
          const token = unsecured({
            iss: ISSUER,
            aud: r.aud,
            scope: r.scope,
            sub: r.ident,
            client_id: r.ident,
            jti: r.ident,
            exp: Math.floor(Date.now() / 1000) + 600,
          })
          const with_ = (where: string, s: string) => (r.echo === where ? `${s}${token}` : s)
          const call = {
            jsonrpc: '2.0',
            id: 1,
            method: r.method,
            params: { name: with_('tool', r.tool) },
          }
          const path = `/${with_('path', r.path)}`
          const headers = {
            authorization: `Bearer ${token}`,
            'user-agent': with_('ua', r.userAgent),
            'mcp-session-id': with_('session', r.session),
            'mcp-name': r.mcpName,
          }
          const { raw, res } = exchange(path, headers)
          let gate = core.handle({
            req: raw,
            raw,
            res,
            url: raw.url,
            ip: '127.0.0.1',
            body: () => (r.batch ? [call, call] : call),
          })
          if (gate instanceof Promise) gate = await gate
          res.writeHead(r.status)
          expect(sink.built.length + sink.ordinary.length).toBe(1)
          taken.built += sink.built.length
          taken.ordinary += sink.ordinary.length
          for (const event of sink.built) {
            const parsed = parseEvent(JSON.parse(JSON.stringify(event)))
            expect(parsed.ok ? [] : parsed.reasons).toEqual([])
            if (parsed.ok) expect(canonical(parsed.event)).toBe(canonical(event))
            expect(JSON.stringify(event)).not.toContain(token)
          }
        },
      ),
      { numRuns: 300, seed: 33 },
    )
    // Both paths were taken: the property is not vacuous.
    expect(taken.built).toBeGreaterThan(30)
    expect(taken.ordinary).toBeGreaterThan(30)
  })

  it('take the ordinary path when the host answers with a status the contract refuses', () => {
    const sink = new TwoPathEmitter()
    const core = createCore<IncomingMessage>(
      { resource: RESOURCE, issuer: ISSUER, mode: 'observe', emitter: sink },
      { kind: 'resource_server' },
    )
    const token = unsecured({ iss: ISSUER, aud: RESOURCE, jti: 'j1', exp: 4_000_000_000 })
    for (const status of [200, 599, 600, 999]) {
      const { raw, res } = exchange('/items', { authorization: `Bearer ${token}` })
      core.handle({ req: raw, raw, res, url: raw.url, ip: '127.0.0.1', body: () => undefined })
      res.writeHead(status)
    }
    const status = (e: unknown) => (e as TokenPresentedEvent).http?.status
    expect(sink.built.map(status)).toEqual([200, 599])
    expect(sink.ordinary.map(status)).toEqual([600, 999])
  })

  it('are never vouched for when the configuration gives events the contract refuses', () => {
    const sink = new TwoPathEmitter()
    const core = createCore<IncomingMessage>(
      {
        resource: RESOURCE,
        issuer: ISSUER,
        mode: 'observe',
        emitter: sink,
        // The options allow it; the contract refuses control characters in `source.id`.
        source: { kind: 'resource_server', id: 'rs\u0007bell' },
      },
      { kind: 'resource_server' },
    )
    const { raw, res } = exchange('/items', { authorization: 'Bearer opaque-token-123' })
    core.handle({ req: raw, raw, res, url: raw.url, ip: '127.0.0.1', body: () => undefined })
    res.writeHead(200)
    expect(sink.built).toEqual([])
    expect(sink.ordinary).toHaveLength(1)
  })
})

describe("the emitter's vouched path", () => {
  it('sends what emit sends for the same event', async () => {
    const viaEmit: AuditEvent[] = []
    const viaBuilt: AuditEvent[] = []
    const a = createEmitter({ transport: { type: 'memory', events: viaEmit } })
    const b = createEmitter({ transport: { type: 'memory', events: viaBuilt } })
    // Complete, as a collector builds it (the contract's defaults written out).
    const event = { ...presented(1), tenant: 'default' } as AuditEvent
    a.emit(structuredClone(event))
    builtEventSink(b)(structuredClone(event))
    await Promise.all([a.close(), b.close()])
    expect(canonical(viaBuilt)).toBe(canonical(viaEmit))
    expect(b.stats()).toMatchObject({ emitted: 1, sent: 1, dropped: 0, reduced: 0 })
  })

  it('still screens raw JWTs: such an event is parsed and reduced, the token never sent', async () => {
    const jwt = `eyJhbGciOiJFUzI1NiJ9.${'a'.repeat(150)}.signature_part_0123456789`
    const events: AuditEvent[] = []
    const emitter = createEmitter({ transport: { type: 'memory', events } })
    builtEventSink(emitter)({ ...presented(1), attributes: { note: jwt } } as AuditEvent)
    await emitter.close()
    expect(JSON.stringify(events)).not.toContain(jwt.slice(0, 40))
    expect(emitter.stats()).toMatchObject({ emitted: 1, dropped: 0, reduced: 1, sent: 1 })
  })

  it('is not offered by a host wrapper around the emitter: the wrapper gets emit', () => {
    const inner = createEmitter({ transport: { type: 'memory' } })
    const seen: unknown[] = []
    const wrapper: Emitter = {
      emit: (e) => {
        seen.push(e)
        inner.emit(e)
      },
      flush: () => inner.flush(),
      close: () => inner.close(),
      stats: () => inner.stats(),
    }
    const event = presented(1) as AuditEvent
    builtEventSink(wrapper)(event)
    expect(seen).toEqual([event])
    // Not enumerable: a spread copy of audtrail's emitter does not carry it either.
    expect(Object.getOwnPropertyDescriptor(inner, EMIT_BUILT)?.enumerable).toBe(false)
    expect(EMIT_BUILT in { ...inner }).toBe(false)
    return inner.close()
  })
})

describe('the token caches', () => {
  it('keep an entry used now and then, however many others come and go, and evict the rest', () => {
    const lru = new ExpiringLru<string>(8)
    lru.set('hot', 'v', Infinity, 0)
    for (let i = 0; i < 100; i++) {
      lru.set(`k${i}`, 'v', Infinity, 0)
      if (i % 3 === 0) expect(lru.get('hot', 1)).toBe('v')
    }
    expect(lru.size).toBe(8)
    expect(lru.get('hot', 1)).toBe('v')
    expect(lru.get('k0', 1)).toBeUndefined()
    expect(lru.get('k99', 1)).toBe('v')
  })
})

describe('fingerprints', () => {
  it("are fingerprintToken's, with and without a key, for any token text", () => {
    const sink = new TwoPathEmitter()
    const plain = createCore(
      { resource: RESOURCE, issuer: ISSUER, mode: 'observe', emitter: sink },
      { kind: 'resource_server' },
    )
    const keyed = createCore(
      { resource: RESOURCE, issuer: ISSUER, mode: 'observe', emitter: sink, fingerprintKey: 'k' },
      { kind: 'resource_server' },
    )
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 600 }), (token) => {
        expect(plain.config.fingerprint(token)).toBe(fingerprintToken(token))
        expect(keyed.config.fingerprint(token)).toBe(fingerprintToken(token, 'k'))
      }),
      { numRuns: 200, seed: 33 },
    )
  })

  it("stay fingerprintToken's when tokens repeat, in any order", () => {
    const sink = new TwoPathEmitter()
    const core = createCore(
      { resource: RESOURCE, issuer: ISSUER, mode: 'observe', emitter: sink, fingerprintKey: 'k' },
      { kind: 'resource_server' },
    )
    // Many distinct tokens, each asked for several times, in a shuffled order.
    const tokens = Array.from({ length: 1500 }, (_, i) => `tok-${i}-${'x'.repeat(i % 700)}`)
    for (let round = 0; round < 3; round++)
      for (let i = 0; i < tokens.length; i++) {
        const token = tokens[(i * 7 + round * 13) % tokens.length]!
        expect(core.config.fingerprint(token)).toBe(fingerprintToken(token, 'k'))
      }
  })
})
