/**
 * What an export is answered: the SDK's own serializers write the requests (spans and log
 * records made by the SDK) and read the answers, in protobuf and JSON. Every record not stored
 * is counted in the partial success with its reason; stored neighbours stay stored; a retry is
 * not stored twice; one tenant cannot write another's events; roles are those of /v1/ingest.
 */
import {
  JsonLogsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer'
import { SpanKind } from '@opentelemetry/api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { holdsRawJwt } from '../../src/events/raw-token.js'
import { HOSTILE_JWT } from '../helpers/hostile.js'
import { harness, presentation, sdkLogs, sdkSpans, type Harness } from './setup.js'

let h: Harness
let token: string

beforeAll(async () => {
  h = await harness()
  token = await h.keys.token({ roles: ['ingest'], tenant: 'acme' })
})
afterAll(() => h.close())

const ENCODINGS = {
  protobuf: {
    type: 'application/x-protobuf',
    spans: ProtobufTraceSerializer,
    logs: ProtobufLogsSerializer,
  },
  json: { type: 'application/json', spans: JsonTraceSerializer, logs: JsonLogsSerializer },
} as const

async function post(path: string, type: string, body: Uint8Array, bearer = token) {
  return fetch(`${h.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': type, authorization: `Bearer ${bearer}` },
    body,
  })
}

for (const [name, enc] of Object.entries(ENCODINGS)) {
  describe(`partial success (${name})`, () => {
    it('counts each span not stored, with its reason, and keeps the valid neighbours', async () => {
      const jti = `ps-${name}`
      const spans = await sdkSpans({ 'service.name': 'weather-mcp' }, [
        { name: 'ok', attributes: presentation({ 'audtrail.token.jti': jti }) },
        { name: 'GET /health', attributes: { 'http.request.method': 'GET' } },
        {
          name: 'leaky',
          attributes: presentation({
            'audtrail.token.jti': `${jti}-leak`,
            'http.request.header.authorization': [`Bearer ${HOSTILE_JWT}`],
          }),
        },
        {
          name: 'incomplete',
          attributes: presentation({ 'audtrail.token.jti': `${jti}-x`, 'audtrail.resource': '' }),
        },
        {
          name: 'client side',
          kind: SpanKind.CLIENT,
          attributes: { 'mcp.method.name': 'tools/list' },
        },
      ])
      const before = h.sink.rejected.length
      const res = await post('/v1/otlp/traces', enc.type, enc.spans.serializeRequest(spans)!)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toContain(enc.type)
      const text = new Uint8Array(await res.arrayBuffer())
      const answer = enc.spans.deserializeResponse(text)
      expect(Number(answer.partialSuccess?.rejectedSpans)).toBe(4)
      const message = answer.partialSuccess?.errorMessage ?? ''
      expect(message).toContain('4 of 5 spans')
      expect(message).toContain('matches no mapping profile')
      expect(message).toContain("attribute 'http.request.header.authorization' holds a raw JWT")
      expect(message).toContain('resource')
      expect(message).toContain('MCP client span')
      expect(holdsRawJwt(message)).toBe(false)
      // Stored: the valid one. Kept for triage: the leaky and the incomplete one, no JWT in them.
      expect(
        h.sink.rows.filter((r) => r.token_jti.startsWith(jti)).map((r) => r.token_jti),
      ).toEqual([jti])
      const kept = h.sink.rejected.slice(before)
      expect(kept).toHaveLength(2)
      for (const row of kept) expect(holdsRawJwt(row.payload)).toBe(false)
      expect(
        kept.some(
          (r) =>
            r.payload.includes('[credential removed]') || r.payload.includes('[raw JWT removed]'),
        ),
      ).toBe(true)
    })

    it('answers an export with nothing refused without a partial success, and a retry as done', async () => {
      const logs = await sdkLogs({ 'service.name': 'weather-mcp' }, [
        { body: 'call', attributes: presentation({ 'audtrail.token.jti': `retry-${name}` }) },
      ])
      const body = enc.logs.serializeRequest(logs)!
      for (let attempt = 0; attempt < 2; attempt++) {
        const res = await post('/v1/otlp/logs', enc.type, body)
        expect(res.status).toBe(200)
        const answer = enc.logs.deserializeResponse(new Uint8Array(await res.arrayBuffer()))
        expect(Number(answer.partialSuccess?.rejectedLogRecords ?? 0)).toBe(0)
      }
      expect(h.sink.rows.filter((r) => r.token_jti === `retry-${name}`)).toHaveLength(1)
    })
  })
}

describe('tenants and roles', () => {
  it('refuses a record naming another tenant, and stores the caller tenant otherwise', async () => {
    const spans = await sdkSpans({ 'service.name': 'weather-mcp' }, [
      { name: 'mine', attributes: presentation({ 'audtrail.token.jti': 'tenant-mine' }) },
      {
        name: 'theirs',
        attributes: presentation({
          'audtrail.token.jti': 'tenant-theirs',
          'audtrail.tenant': 'globex',
        }),
      },
    ])
    const res = await post(
      '/v1/otlp/traces',
      'application/json',
      JsonTraceSerializer.serializeRequest(spans)!,
    )
    const answer = JsonTraceSerializer.deserializeResponse(new Uint8Array(await res.arrayBuffer()))
    expect(Number(answer.partialSuccess?.rejectedSpans)).toBe(1)
    expect(answer.partialSuccess?.errorMessage).toContain(
      "tenant: 'globex' is not the caller's tenant",
    )
    expect(
      h.sink.rows
        .filter((r) => r.token_jti.startsWith('tenant-'))
        .map((r) => [r.token_jti, r.tenant]),
    ).toEqual([['tenant-mine', 'acme']])
  })

  it('needs the ingest role: 401 without a token, 403 with another role', async () => {
    const spans = await sdkSpans({ 'service.name': 's' }, [
      { name: 'x', attributes: presentation() },
    ])
    const body = ProtobufTraceSerializer.serializeRequest(spans)!
    const none = await fetch(`${h.base}/v1/otlp/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body,
    })
    expect(none.status).toBe(401)
    const viewer = await h.keys.token({ roles: ['viewer'] })
    expect((await post('/v1/otlp/traces', 'application/x-protobuf', body, viewer)).status).toBe(403)
  })

  it('serves the paths an exporter builds from a base endpoint (/v1/otlp + /v1/traces)', async () => {
    const spans = await sdkSpans({ 'service.name': 'weather-mcp' }, [
      { name: 'base', attributes: presentation({ 'audtrail.token.jti': 'at-base' }) },
    ])
    const res = await post(
      '/v1/otlp/v1/traces',
      'application/x-protobuf',
      ProtobufTraceSerializer.serializeRequest(spans)!,
    )
    expect(res.status).toBe(200)
    expect(h.sink.rows.some((r) => r.token_jti === 'at-base')).toBe(true)
  })
})
