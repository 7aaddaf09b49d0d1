import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createMemorySink } from '../../src/pipeline/memory-sink.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { memoryIngest, testApp } from '../helpers/api-app.js'
import { presentedEvent } from '../helpers/events.js'

const sink = createMemorySink()
let app: FastifyInstance
let keys: Awaited<ReturnType<typeof apiKeys>>

beforeAll(async () => {
  keys = await apiKeys()
  app = await testApp(keys, memoryIngest(sink))
})
afterAll(() => app.close())

async function post(body: string, contentType: string, token?: string) {
  return app.inject({
    method: 'POST',
    url: '/v1/ingest',
    headers: {
      'content-type': contentType,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    payload: body,
  })
}

describe('POST /v1/ingest', () => {
  it('answers per event for NDJSON, keeping valid events and rejecting the rest with reasons', async () => {
    const good = [presentedEvent(), presentedEvent()]
    const lines = [
      JSON.stringify(good[0]),
      'not json',
      JSON.stringify(good[1]),
      '{"event_type":"x"}',
    ]
    const res = await post(
      lines.join('\n'),
      'application/x-ndjson',
      await keys.token({ roles: ['ingest'] }),
    )
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body).toMatchObject({ accepted: 2, rejected: 2 })
    expect(body.results.map((r: { status: string }) => r.status)).toEqual([
      'accepted',
      'rejected',
      'accepted',
      'rejected',
    ])
    expect(body.results[1].reasons).toEqual(['payload is not valid JSON'])
    const stored = sink.rows.map((r) => r.event_id)
    expect(stored).toEqual(expect.arrayContaining(good.map((g) => g.event_id)))
    expect(sink.rejected.map((r) => r.source_ref)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^http\/.+\/1$/),
        expect.stringMatching(/^http\/.+\/3$/),
      ]),
    )
  })

  it('accepts a JSON array and a single JSON object', async () => {
    const token = await keys.token({ roles: ['ingest'] })
    const arr = await post(
      JSON.stringify([presentedEvent(), presentedEvent()]),
      'application/json',
      token,
    )
    expect(arr.json()).toMatchObject({ accepted: 2, rejected: 0 })
    const one = await post(JSON.stringify(presentedEvent()), 'application/json', token)
    expect(one.json()).toMatchObject({ accepted: 1, rejected: 0 })
  })

  it("rejects events of another tenant than the caller's token", async () => {
    const res = await post(
      JSON.stringify([presentedEvent({ tenant: 'other' })]),
      'application/json',
      await keys.token({ roles: ['ingest'], tenant: 'acme' }),
    )
    expect(res.json().results[0]).toMatchObject({
      status: 'rejected',
      reasons: ["tenant: 'other' is not the caller's tenant"],
    })
  })

  it('answers 401 with WWW-Authenticate without a token or with a bad one', async () => {
    const missing = await post('[]', 'application/json')
    expect(missing.statusCode).toBe(401)
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="audtrail"')
    expect(missing.json()).toMatchObject({ code: 'ERR_AUTH_MISSING' })
    for (const token of [
      await keys.token({ roles: ['ingest'] }, { audience: 'https://other.example' }),
      await keys.token({ roles: ['ingest'] }, { issuer: 'https://evil.example' }),
      await keys.token({ roles: ['ingest'] }, { expiresIn: '-1m' }),
      await keys.token({ roles: ['ingest'] }, { kid: 'unknown' }),
      'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
    ]) {
      const res = await post('[]', 'application/json', token)
      expect(res.statusCode).toBe(401)
      expect(res.headers['www-authenticate']).toMatch(
        /^Bearer realm="audtrail", error="invalid_token"/,
      )
    }
  })

  it('answers 403 to a caller without the ingest role, admins included', async () => {
    for (const roles of [['viewer'], ['analyst'], ['admin'], []]) {
      const res = await post('[]', 'application/json', await keys.token({ roles }))
      expect(res.statusCode).toBe(403)
      expect(res.json()).toMatchObject({ code: 'ERR_FORBIDDEN' })
    }
  })

  it('answers 400 to a body that is not JSON and 415 to another media type', async () => {
    const token = await keys.token({ roles: ['ingest'] })
    const bad = await post('[1,', 'application/json', token)
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toEqual({
      statusCode: 400,
      code: 'ERR_BAD_REQUEST',
      message: 'the body is not valid JSON (use NDJSON for per-line answers)',
    })
    const text = await post('hello', 'text/plain', token)
    expect(text.statusCode).toBe(415)
  })

  it('answers 413 past 10 000 events in one request', async () => {
    const line = JSON.stringify({ a: 1 })
    const res = await post(
      Array(10_001).fill(line).join('\n'),
      'application/x-ndjson',
      await keys.token({ roles: ['ingest'] }),
    )
    expect(res.statusCode).toBe(413)
  })

  it('answers 503, not 500, while storage is down, and readiness says so', async () => {
    sink.available = false
    try {
      const res = await post(
        JSON.stringify([presentedEvent()]),
        'application/json',
        await keys.token({ roles: ['ingest'] }),
      )
      expect(res.statusCode).toBe(503)
      expect(res.json().code).toBe('ERR_UNAVAILABLE')
      const ready = await app.inject({ method: 'GET', url: '/readyz' })
      expect(ready.statusCode).toBe(503)
      expect(ready.json()).toEqual({ status: 'not_ready', checks: { storage: false } })
    } finally {
      sink.available = true
    }
  })

  it('exposes Prometheus metrics and liveness without authentication', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' })
    const res = await app.inject({ method: 'GET', url: '/metrics' })
    expect(res.headers['content-type']).toMatch(/^text\/plain/)
    expect(res.body).toMatch(/^audtrail_events_consumed_total \d+$/m)
  })
})
