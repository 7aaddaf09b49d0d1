/**
 * Hostile OTLP: bodies that are not OTLP, values nested hundreds of thousands deep, arrays of
 * hundreds of thousands of values, wrong JSON types, zip bombs, bodies over the limit, too many
 * records, random corruption of a real export. Each gets a clear answer in the error model, or a
 * partial success naming the bad record while its valid neighbours are stored; never a 5xx.
 * (Hostile payloads are built by hand here; the valid neighbours come from the SDK.)
 */
import { gzipSync } from 'node:zlib'
import type { FastifyInstance } from 'fastify'
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { holdsRawJwt } from '../../src/events/raw-token.js'
import { createMemorySink } from '../../src/pipeline/memory-sink.js'
import { WIRE, WireWriter } from '../../src/otlp/protowire.js'
import { decodeProtobufAnswer } from '../../src/otlp/wire.js'
import { expectErrorModel } from '../api/documented-errors.js'
import { memoryIngest, testApp } from '../helpers/api-app.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { HOSTILE_JWT } from '../helpers/hostile.js'
import { seededRandom } from '../helpers/random.js'
import { presentation, sdkSpans } from './setup.js'

const sink = createMemorySink()
let app: FastifyInstance
let token: string
let valid: { proto: Uint8Array; json: string; jti: string }
let serial = 0

beforeAll(async () => {
  const keys = await apiKeys()
  app = await testApp(keys, memoryIngest(sink))
  token = await keys.token({ roles: ['ingest'], tenant: 'acme' })
})
afterAll(() => app.close())

/** A fresh valid span (its own jti), as the SDK serializes it, in both encodings. */
async function neighbour() {
  const jti = `neighbour-${serial++}`
  const spans = await sdkSpans({ 'service.name': 'weather-mcp' }, [
    { name: 'tools/call', attributes: presentation({ 'audtrail.token.jti': jti }) },
  ])
  valid = {
    proto: ProtobufTraceSerializer.serializeRequest(spans)!,
    json: new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)!),
    jti,
  }
  return valid
}

const stored = (jti: string) => sink.rows.some((r) => r.token_jti === jti)

function post(body: Uint8Array | string, type: string, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/v1/otlp/traces',
    headers: { 'content-type': type, authorization: `Bearer ${token}`, ...headers },
    payload: typeof body === 'string' ? body : Buffer.from(body),
  })
}

const PROTO = 'application/x-protobuf'
const JSON_TYPE = 'application/json'

const len = (w: WireWriter, field: number, inner: Uint8Array) => w.tag(field, WIRE.len).bytes(inner)
const msg = (build: (w: WireWriter) => void) => {
  const w = new WireWriter()
  build(w)
  return w.finish()
}
const str = (s: string) => new TextEncoder().encode(s)

/** `KeyValue{key, value}` with an encoded AnyValue. */
const keyValue = (key: string, anyValue: Uint8Array) =>
  msg((w) => len(len(w, 1, str(key)), 2, anyValue))

/** A ResourceSpans field (of the request) holding one span with `attributes`. */
function resourceSpans(attributes: Uint8Array[]): Uint8Array {
  const span = msg((w) => {
    len(w, 1, new Uint8Array(16).fill(1))
    len(w, 2, new Uint8Array(8).fill(2))
    len(w, 5, str('hostile'))
    w.tag(6, WIRE.varint).varint(2n)
    for (const a of attributes) len(w, 9, a)
  })
  const scope = msg((w) => len(w, 2, span))
  return msg((w) =>
    len(
      w,
      1,
      msg((r) => len(r, 2, scope)),
    ),
  )
}

const varintLength = (n: number) => {
  let size = 1
  while (n >= 0x80) {
    n = Math.floor(n / 128)
    size++
  }
  return size
}
function varintBytes(n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 128) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return out
}

/** An AnyValue nested `depth` arrays deep around a string, built in linear time. */
function deepAnyValue(depth: number): Uint8Array {
  const core = msg((w) => len(w, 1, str('x')))
  const anySizes = [core.length]
  const arraySizes: number[] = []
  for (let i = 0; i < depth; i++) {
    const inner = anySizes[i]!
    const array = 1 + varintLength(inner) + inner
    arraySizes.push(array)
    anySizes.push(1 + varintLength(array) + array)
  }
  const out = Buffer.alloc(anySizes[depth]!)
  let at = 0
  for (let i = depth - 1; i >= 0; i--)
    for (const b of [0x2a, ...varintBytes(arraySizes[i]!), 0x0a, ...varintBytes(anySizes[i]!)])
      out[at++] = b
  out.set(core, at)
  return out
}

/** An AnyValue: an array of `n` int values. */
const hugeArray = (n: number) => {
  const one = msg((w) => w.tag(3, WIRE.varint).varint(7n))
  const array = msg((w) => {
    for (let i = 0; i < n; i++) len(w, 1, one)
  })
  return msg((w) => len(w, 5, array))
}

const concat = (...parts: Uint8Array[]) => Buffer.concat(parts)

describe('values that would exhaust a decoder refuse their record alone', () => {
  it('protobuf: an attribute nested 200 000 levels deep', async () => {
    const { proto, jti } = await neighbour()
    const body = concat(proto, resourceSpans([keyValue('deep', deepAnyValue(200_000))]))
    const res = await post(body, PROTO)
    expect(res.statusCode).toBe(200)
    const answer = decodeProtobufAnswer(res.rawPayload)
    expect(answer.rejected).toBe(1)
    expect(answer.message).toContain('deep')
    expect(answer.message).toContain('nested deeper than 8 levels')
    expect(stored(jti)).toBe(true)
  })

  it('JSON: an attribute nested 100 000 levels deep', async () => {
    const { json, jti } = await neighbour()
    const n = 100_000
    const deep = `${'{"arrayValue":{"values":['.repeat(n)}{"stringValue":"x"}${']}}'.repeat(n)}`
    const hostile = `{"scopeSpans":[{"spans":[{"name":"deep","attributes":[{"key":"deep","value":${deep}}]}]}]}`
    const parsed = JSON.parse(json) as { resourceSpans: unknown[] }
    const body = `{"resourceSpans":[${JSON.stringify(parsed.resourceSpans[0])},${hostile}]}`
    const res = await post(body, JSON_TYPE)
    expect(res.statusCode).toBe(200)
    const answer = res.json() as { partialSuccess: { rejectedSpans: string; errorMessage: string } }
    expect(answer.partialSuccess.rejectedSpans).toBe('1')
    expect(answer.partialSuccess.errorMessage).toContain('nested deeper than 8 levels')
    expect(stored(jti)).toBe(true)
  })

  it('protobuf: an array of 300 000 values, and 5 000 attributes on one span', async () => {
    const { proto, jti } = await neighbour()
    const many = Array.from({ length: 5_000 }, (_, i) =>
      keyValue(
        `k${i}`,
        msg((w) => len(w, 1, str('v'))),
      ),
    )
    const body = concat(
      proto,
      resourceSpans([keyValue('huge', hugeArray(300_000))]),
      resourceSpans(many),
    )
    const res = await post(body, PROTO)
    expect(res.statusCode).toBe(200)
    const answer = decodeProtobufAnswer(res.rawPayload)
    expect(answer.rejected).toBe(2)
    expect(answer.message).toContain('huge: more than 1024 values')
    expect(answer.message).toContain('more than 256 attributes')
    expect(stored(jti)).toBe(true)
  })

  it('JSON: values of the wrong type refuse their span; a wrong envelope refuses the body', async () => {
    const { json, jti } = await neighbour()
    const parsed = JSON.parse(json) as { resourceSpans: unknown[] }
    const bad = [
      { name: 'enum as a name', kind: 'SPAN_KIND_SERVER', attributes: [] },
      { name: 'a number as a string', attributes: [{ key: 'a', value: { stringValue: 5 } }] },
      { name: 'a base64 id', traceId: 'AQEBAQEBAQEBAQEBAQEBAQ==', attributes: [] },
      'not an object',
    ]
    const body = JSON.stringify({
      resourceSpans: [parsed.resourceSpans[0], { scopeSpans: [{ spans: bad }] }],
    })
    const res = await post(body, JSON_TYPE)
    expect(res.statusCode).toBe(200)
    const answer = res.json() as { partialSuccess: { rejectedSpans: string; errorMessage: string } }
    expect(answer.partialSuccess.rejectedSpans).toBe('4')
    for (const reason of [
      'kind: not an integer',
      'a: a value of the wrong type',
      'traceId: not 32 hex digits',
      'span: not an object',
    ])
      expect(answer.partialSuccess.errorMessage).toContain(reason)
    expect(stored(jti)).toBe(true)
    for (const envelope of [
      '{"resourceSpans":{}}',
      '{"resourceSpans":[{"scopeSpans":7}]}',
      '[]',
      '"x"',
    ])
      expectErrorModel(await post(envelope, JSON_TYPE), 'ERR_BAD_REQUEST')
  })
})

describe('bodies refused whole, in the error model', () => {
  it('truncated protobuf, random bytes and not-JSON are 400', async () => {
    const { proto } = await neighbour()
    for (const body of [
      proto.subarray(0, proto.length - 3),
      proto.subarray(0, 5),
      Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f),
      Uint8Array.of(0x0f),
      Uint8Array.of(0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
    ]) {
      const res = await post(body, PROTO)
      expectErrorModel(res, 'ERR_BAD_REQUEST')
      expect(res.json().message).toContain('not an OTLP trace request in protobuf')
    }
    expectErrorModel(await post('{"resourceSpans":', JSON_TYPE), 'ERR_BAD_REQUEST')
    expectErrorModel(await post(Uint8Array.of(0x7b, 0xff, 0x7d), JSON_TYPE), 'ERR_BAD_REQUEST')
  })

  it('other media types and encodings are 415', async () => {
    for (const type of [
      'text/plain',
      'application/protobuf',
      'application/x-ndjson',
      'application/xml',
    ])
      expectErrorModel(await post('{}', type), 'ERR_UNSUPPORTED_MEDIA_TYPE')
    expectErrorModel(
      await post('{}', JSON_TYPE, { 'content-encoding': 'br' }),
      'ERR_UNSUPPORTED_MEDIA_TYPE',
    )
    expectErrorModel(await post('{}', JSON_TYPE, { 'content-encoding': 'gzip' }), 'ERR_BAD_REQUEST')
  })

  it('a gzip body that inflates past the body limit is 413 (a zip bomb), a small one is read', async () => {
    const bomb = gzipSync(Buffer.alloc(11 * 1024 * 1024))
    expect(bomb.length).toBeLessThan(64 * 1024)
    const res = await post(bomb, PROTO, { 'content-encoding': 'gzip' })
    expectErrorModel(res, 'ERR_PAYLOAD_TOO_LARGE')
    expect(res.json().message).toContain('inflates past')
    const { proto, jti } = await neighbour()
    const ok = await post(gzipSync(proto), PROTO, { 'content-encoding': 'gzip' })
    expect(ok.statusCode).toBe(200)
    expect(stored(jti)).toBe(true)
  })

  it('a body over 10 MB is 413, and so are more than 10 000 spans', async () => {
    expectErrorModel(
      await post(Buffer.alloc(11 * 1024 * 1024, 0x0a), PROTO),
      'ERR_PAYLOAD_TOO_LARGE',
    )
    const spans = `{"resourceSpans":[{"scopeSpans":[{"spans":[${'{},'.repeat(10_000)}{}]}]}]}`
    const res = await post(spans, JSON_TYPE)
    expectErrorModel(res, 'ERR_PAYLOAD_TOO_LARGE')
    expect(res.json().message).toContain('at most 10000 spans per request (got 10001)')
  })

  it('an empty export is answered as a success with nothing to report', async () => {
    const proto = await post(new Uint8Array(0), PROTO)
    expect(proto.statusCode).toBe(200)
    expect(decodeProtobufAnswer(proto.rawPayload)).toEqual({ rejected: 0, message: '' })
    const json = await post('{}', JSON_TYPE)
    expect(json.statusCode).toBe(200)
    expect(json.json()).toEqual({})
  })
})

describe('raw tokens are never stored', () => {
  it('a JWT in a span name, a bearer token in an audtrail field: refused, kept without them', async () => {
    const spans = await sdkSpans({ 'service.name': 'weather-mcp' }, [
      {
        name: `GET /cb?access_token=${HOSTILE_JWT}`,
        attributes: presentation({ 'audtrail.token.jti': 'named' }),
      },
      {
        name: 'opaque',
        attributes: presentation({ 'audtrail.token.jti': 'Bearer 2YotnFZFEjr1zCsicMWpAA' }),
      },
    ])
    const before = sink.rejected.length
    const res = await post(ProtobufTraceSerializer.serializeRequest(spans)!, PROTO)
    const answer = decodeProtobufAnswer(res.rawPayload)
    expect(answer.rejected).toBe(2)
    expect(answer.message).toContain('name: holds a raw JWT')
    expect(answer.message).toContain("attribute 'audtrail.token.jti' holds a credential")
    const kept = sink.rejected.slice(before)
    expect(kept).toHaveLength(2)
    for (const row of kept) {
      expect(holdsRawJwt(row.payload)).toBe(false)
      expect(row.payload).not.toContain('2YotnFZFEjr1zCsicMWpAA')
    }
    expect(sink.rows.some((r) => r.token_jti === 'named')).toBe(false)
  })
})

describe('corruption of a real export', () => {
  it('300 randomly corrupted bodies: each answered 200 or 400, never a 5xx', async () => {
    const { proto } = await neighbour()
    const random = seededRandom(28)
    const statuses = new Set<number>()
    for (let i = 0; i < 300; i++) {
      const body = Buffer.from(proto)
      const flips = 1 + Math.floor(random() * 4)
      for (let f = 0; f < flips; f++)
        body[Math.floor(random() * body.length)] = Math.floor(random() * 256)
      const cut = random() < 0.3 ? body.subarray(0, Math.floor(random() * body.length)) : body
      const res = await post(cut, PROTO)
      statuses.add(res.statusCode)
      expect([200, 400], res.body).toContain(res.statusCode)
    }
    expect(statuses.has(400)).toBe(true)
  })
})
