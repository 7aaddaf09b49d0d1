/**
 * The emitter's OTLP transport against a real listening API: the contract's example events, sent
 * once through the HTTP transport to `/v1/ingest` and once through the OTLP transport to
 * `/v1/otlp/logs`, are stored equal (the OTLP path adds only its `otlp.*` links to `attributes`).
 * Then its answers: refused records named by position are rejected one by one, the rest stored.
 */
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createEmitter } from '../../src/collectors/emitter/index.js'
import {
  createOtlpTransport,
  OTLP_EMITTED_ATTRIBUTES,
  readOtlpAnswer,
} from '../../src/collectors/emitter/transports/otlp.js'
import type { TransportConfig } from '../../src/collectors/types.js'
import { parseEvent } from '../../src/events/parse.js'
import type { AuditEvent } from '../../src/events/schema.js'
import { Metrics, pipelineMetrics } from '../../src/metrics.js'
import { AUDTRAIL_ATTRIBUTES } from '../../src/otlp/profiles/audtrail.js'
import { testApp } from '../helpers/api-app.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { loadExamples } from '../helpers/examples.js'

interface Api {
  app: FastifyInstance
  base: string
  stored: AuditEvent[]
}

let keys: Awaited<ReturnType<typeof apiKeys>>
let token: string
const apis: Api[] = []

/** A listening API whose ingest keeps the accepted events (the examples' old times kept too). */
async function api(): Promise<Api> {
  const stored: AuditEvent[] = []
  const metrics = new Metrics()
  const app = await testApp(keys, {
    metrics,
    ingest: {
      target: {
        stores: true,
        async write(accepted) {
          stored.push(...accepted.map((a) => a.event))
        },
      },
      retentionDays: 36_500,
      pipeline: pipelineMetrics(metrics),
    },
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const made = { app, base: `http://127.0.0.1:${port}`, stored }
  apis.push(made)
  return made
}

/** The valid examples of the contract, for tenant `acme`, each its own id. */
function examples(): Record<string, unknown>[] {
  return loadExamples('valid').map(([, e]) => ({ ...e, tenant: 'acme' }))
}

async function emitThrough(transport: TransportConfig, events: Record<string, unknown>[]) {
  const emitter = createEmitter({
    transport,
    logger: pino({ level: 'silent' }),
    closeOnExit: false,
    retryInitialMs: 10,
  })
  for (const e of events) emitter.emit(e as never)
  await emitter.close()
  return emitter.stats()
}

function withoutLinks(event: AuditEvent): unknown {
  const attributes = Object.fromEntries(
    Object.entries(event.attributes ?? {}).filter(([k]) => !k.startsWith('otlp.')),
  )
  const copy: Record<string, unknown> = { ...event }
  delete copy.attributes
  if (Object.keys(attributes).length > 0) copy.attributes = attributes
  return copy
}

beforeAll(async () => {
  keys = await apiKeys()
  token = await keys.token({ roles: ['ingest'], tenant: 'acme' })
})
afterAll(async () => {
  for (const a of apis) await a.app.close()
})

describe('the OTLP transport', () => {
  it('stores the contract examples exactly as the HTTP transport does', async () => {
    const events = examples()
    // The set covers what the audtrail.* namespace was extended for.
    const fields = JSON.stringify(events)
    for (const f of ['"proof"', '"cnf"', '"http"', '"attributes"', '"actor"', '"subject_token"'])
      expect(fields).toContain(f)
    const viaHttp = await api()
    const viaOtlp = await api()
    const httpStats = await emitThrough(
      { type: 'http', url: `${viaHttp.base}/v1/ingest`, token },
      events,
    )
    const otlpStats = await emitThrough(
      { type: 'otlp', url: `${viaOtlp.base}/v1/otlp/logs`, token },
      events,
    )
    expect(httpStats.sent).toBe(events.length)
    expect(otlpStats).toMatchObject({ sent: events.length, rejected: 0, dropped: 0 })
    expect(viaHttp.stored).toHaveLength(events.length)
    const byId = (list: AuditEvent[]) =>
      [...list].sort((a, b) => a.event_id.localeCompare(b.event_id)).map(withoutLinks)
    expect(byId(viaOtlp.stored)).toEqual(byId(viaHttp.stored))
    for (const e of viaOtlp.stored) expect(e.attributes?.['otlp.signal']).toBe('log')
  })

  it('writes only attributes the audtrail profile reads, and every one of them', () => {
    expect([...OTLP_EMITTED_ATTRIBUTES].sort()).toEqual([...AUDTRAIL_ATTRIBUTES].sort())
  })

  it('rejects the records audtrail refuses, by position, and stores their neighbours', async () => {
    const target = await api()
    const good = examples()
    const [first] = good
    // Valid for the emitter, refused by the API: another tenant than the caller's.
    const other = { ...first, event_id: '0b5c2f4e-59a1-4c1e-9a4e-2f8d7c1b3a90', tenant: 'globex' }
    const batch = [...good.slice(0, 2), other, ...good.slice(2)]
    const stats = await emitThrough(
      { type: 'otlp', url: `${target.base}/v1/otlp/logs`, token, gzip: false },
      batch,
    )
    expect(stats).toMatchObject({ sent: good.length, rejected: 1 })
    expect(target.stored.map((e) => e.event_id).sort()).toEqual(
      good.map((e) => e.event_id as string).sort(),
    )
  })

  it('bisects a batch whose answer refuses more records than it names', async () => {
    const target = await api()
    // Twelve events of another tenant among three good ones: the answer names ten of them.
    const good = examples().slice(0, 3)
    const others = Array.from({ length: 12 }, (_, i) => ({
      ...good[0],
      tenant: 'globex',
      event_id: `0b5c2f4e-59a1-4c1e-9a4e-${String(i).padStart(12, '0')}`,
    }))
    const stats = await emitThrough({ type: 'otlp', url: `${target.base}/v1/otlp/logs`, token }, [
      ...others,
      ...good,
    ])
    expect(stats).toMatchObject({ sent: 3, rejected: 12 })
    // Halves are sent again: this target keeps retries (a real store answers them duplicate).
    expect(new Set(target.stored.map((e) => e.event_id))).toEqual(
      new Set(good.map((e) => e.event_id)),
    )
  })

  it('sends gzip-compressed OTLP JSON with the bearer token', async () => {
    const seen: { headers: Headers; body: Buffer }[] = []
    const server = (await import('node:http')).createServer(async (req, res) => {
      const chunks: Buffer[] = []
      for await (const c of req) chunks.push(c as Buffer)
      seen.push({
        headers: new Headers(req.headers as Record<string, string>),
        body: Buffer.concat(chunks),
      })
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as AddressInfo
    const transport = createOtlpTransport({ url: `http://127.0.0.1:${port}/v1/logs`, token: 't1' })
    const event = parseEvent(examples()[0]!)
    if (!event.ok) throw new Error('example invalid')
    await transport.send([{ event: event.event, json: JSON.stringify(event.event) }])
    server.close()
    expect(seen).toHaveLength(1)
    expect(seen[0]!.headers.get('authorization')).toBe('Bearer t1')
    expect(seen[0]!.headers.get('content-encoding')).toBe('gzip')
    const request = JSON.parse(gunzipSync(seen[0]!.body).toString('utf8'))
    const attrs = request.resourceLogs[0].scopeLogs[0].logRecords[0].attributes as {
      key: string
    }[]
    expect(attrs.map((a) => a.key)).toContain('audtrail.event_id')
  })

  it('reads an OTLP answer', () => {
    expect(readOtlpAnswer('{}', 3)).toBeUndefined()
    expect(readOtlpAnswer('{"partialSuccess":{}}', 3)).toEqual({ rejected: [], complete: true })
    const answer = readOtlpAnswer(
      JSON.stringify({
        partialSuccess: {
          rejectedLogRecords: '3',
          errorMessage:
            '3 of 5 log records not stored as audit events (resource/scope/item: reason): 0/0/1: tenant: x | 0/0/4: y | and 1 more',
        },
      }),
      5,
    )
    expect(answer).toEqual({
      rejected: [
        { index: 1, reason: 'tenant: x' },
        { index: 4, reason: 'y' },
      ],
      complete: false,
    })
  })
})
