/**
 * Every error is `{ statusCode, code, message }` and nothing else, with a code docs/api.md lists
 * for that status: the routes' own, the router's and Fastify's (no route, another method, a body
 * too large, of another type or not JSON, a malformed URL, a path parameter too long, a timeout
 * of the handler), the rate limiter's, and those Node's HTTP parser meets (headers or URL over
 * 16 KiB, a malformed request, a request not received in time). Then random requests of every
 * method, path, type and body: every error among their answers is in the model too.
 */
import { METHODS } from 'node:http'
import { connect } from 'node:net'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, type AppDeps } from '../../src/api/app.js'
import { createAuthenticator } from '../../src/api/auth.js'
import { API_ERROR_CODES, API_ERROR_STATUS, MAX_PARAM_LENGTH } from '../../src/api/errors.js'
import { rateLimited } from '../../src/api/rate-limit.js'
import { AudtrailError } from '../../src/errors.js'
import { createLogger } from '../../src/logger.js'
import { Metrics, pipelineMetrics } from '../../src/metrics.js'
import { sinkTarget } from '../../src/pipeline/ingest.js'
import { createMemorySink } from '../../src/pipeline/memory-sink.js'
import { migrate } from '../../src/storage/migrate.js'
import { API_AUDIENCE, API_ISSUER, apiKeys } from '../helpers/api-tokens.js'
import { HOSTILE_JWT } from '../helpers/hostile.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'
import { documentedErrors, expectErrorModel } from './documented-errors.js'
import { seededRandom } from '../helpers/random.js'

const BODY_LIMIT = 4096
const storage = testStorage('api_error_model')
let app: FastifyInstance
let keys: Awaited<ReturnType<typeof apiKeys>>
let admin: string

async function build(extra: Partial<AppDeps> = {}): Promise<FastifyInstance> {
  const metrics = new Metrics()
  const authenticate = createAuthenticator({
    keys: keys.keys,
    issuer: API_ISSUER,
    audience: API_AUDIENCE,
  })
  // A bucket that never refills, for the caller `greedy` alone: limited after two requests.
  const limited = rateLimited(authenticate, { perSecond: 1, burst: 2, now: () => 0 })
  return buildApp({
    logger: createLogger('silent'),
    authenticate: async (authorization) => {
      const caller = await authenticate(authorization)
      return caller.subject === 'greedy' ? limited(authorization) : caller
    },
    metrics,
    readiness: async () => ({}),
    ingest: {
      target: sinkTarget(createMemorySink()),
      retentionDays: 400,
      pipeline: pipelineMetrics(metrics),
    },
    storage,
    bodyLimit: BODY_LIMIT,
    ...extra,
  })
}

beforeAll(async () => {
  keys = await apiKeys()
  await migrate(storage, { retention: RETENTION })
  app = await build()
  // Routes that fail as a handler can: they show the error handler, not a route's own checks.
  app.get('/test/throws', async () => {
    throw new Error('boom: internal detail')
  })
  app.get('/test/unavailable', async () => {
    throw new AudtrailError('ERR_SINK_UNAVAILABLE', 'down', { retriable: true })
  })
  app.get('/test/slow', { handlerTimeout: 20 }, () => new Promise(() => {}))
  app.get(
    '/test/schema',
    { schema: { querystring: { type: 'object', properties: { n: { type: 'integer' } } } } },
    async () => ({}),
  )
  app.get('/test/teapot', async () => {
    throw Object.assign(new Error('a library error'), { statusCode: 418 })
  })
  app.get('/test/gone', async () => {
    throw Object.assign(new Error('a library error'), { statusCode: 404 })
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  admin = await keys.token({ roles: ['admin', 'ingest'], sub: 'admin' })
})
afterAll(async () => {
  await app.close()
  await closeTestStorages()
})

const FINDING = '0123456789abcdef0123456789abcdef'
const json = (method: string, url: string, payload: string, type = 'application/json') =>
  ({
    method,
    url,
    payload,
    headers: { 'content-type': type },
  }) as InjectOptions

type Case = [name: string, request: () => InjectOptions, status: number, code: string]

const CASES: Case[] = [
  ['no route', () => ({ method: 'GET', url: '/nope' }), 404, 'ERR_NOT_FOUND'],
  ['no route under /v1', () => ({ method: 'GET', url: '/v1' }), 404, 'ERR_NOT_FOUND'],
  [
    'a parametric route without its parameter',
    () => ({ url: '/v1/tokens/' }),
    400,
    'ERR_BAD_REQUEST',
  ],
  ['a segment too many', () => ({ method: 'GET', url: '/v1/tokens/a/b' }), 404, 'ERR_NOT_FOUND'],
  ['no such finding', () => ({ url: `/v1/findings/${FINDING}` }), 404, 'ERR_NOT_FOUND'],
  ['an error with status 404', () => ({ url: '/test/gone' }), 404, 'ERR_NOT_FOUND'],
  [
    'DELETE on a GET route',
    () => ({ method: 'DELETE', url: '/v1/events' }),
    405,
    'ERR_METHOD_NOT_ALLOWED',
  ],
  [
    'PUT on GET and PATCH',
    () => ({ method: 'PUT', url: `/v1/findings/${FINDING}` }),
    405,
    'ERR_METHOD_NOT_ALLOWED',
  ],
  ['POST on /healthz', () => ({ method: 'POST', url: '/healthz' }), 405, 'ERR_METHOD_NOT_ALLOWED'],
  ['OPTIONS', () => ({ method: 'OPTIONS', url: '/v1/ingest' }), 405, 'ERR_METHOD_NOT_ALLOWED'],
  ['PROPFIND', () => ({ method: 'PROPFIND', url: '/v1/rules' }), 405, 'ERR_METHOD_NOT_ALLOWED'],
  [
    'a body over the limit (PATCH)',
    () => json('PATCH', `/v1/findings/${FINDING}`, `{"note":"${'x'.repeat(BODY_LIMIT)}"}`),
    413,
    'ERR_PAYLOAD_TOO_LARGE',
  ],
  [
    'a body over the limit (POST)',
    () => json('POST', '/v1/exceptions', `{"owner":"${'x'.repeat(BODY_LIMIT)}"}`),
    413,
    'ERR_PAYLOAD_TOO_LARGE',
  ],
  [
    'a body over the limit (ingest)',
    () => json('POST', '/v1/ingest', `[${'{},'.repeat(BODY_LIMIT)}{}]`),
    413,
    'ERR_PAYLOAD_TOO_LARGE',
  ],
  [
    'XML (PATCH)',
    () => json('PATCH', `/v1/findings/${FINDING}`, '<a/>', 'application/xml'),
    415,
    'ERR_UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'CSV (POST)',
    () => json('POST', '/v1/exceptions', 'a,b', 'text/csv'),
    415,
    'ERR_UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'XML (ingest)',
    () => json('POST', '/v1/ingest', '<a/>', 'application/xml'),
    415,
    'ERR_UNSUPPORTED_MEDIA_TYPE',
  ],
  [
    'bad JSON (PATCH)',
    () => json('PATCH', `/v1/findings/${FINDING}`, '{bad'),
    400,
    'ERR_BAD_REQUEST',
  ],
  ['bad JSON (POST)', () => json('POST', '/v1/exceptions', '{"a":'), 400, 'ERR_BAD_REQUEST'],
  [
    'an empty JSON body',
    () => json('PATCH', `/v1/findings/${FINDING}`, ''),
    400,
    'ERR_BAD_REQUEST',
  ],
  [
    'a body shorter than its Content-Length',
    () => ({
      ...json('PATCH', `/v1/findings/${FINDING}`, '{}'),
      headers: { 'content-type': 'application/json', 'content-length': '10' },
    }),
    400,
    'ERR_BAD_REQUEST',
  ],
  ['a malformed percent-escape', () => ({ url: '/v1/tokens/%E0%A4%A' }), 400, 'ERR_BAD_REQUEST'],
  ['an invalid percent-escape', () => ({ url: '/v1/tokens/%ZZ' }), 400, 'ERR_BAD_REQUEST'],
  ['a query the route does not know', () => ({ url: '/v1/events?nope=1' }), 400, 'ERR_BAD_REQUEST'],
  ['a query schema validation', () => ({ url: '/test/schema?n=x' }), 400, 'ERR_BAD_REQUEST'],
  ['a library error with an unknown 4xx', () => ({ url: '/test/teapot' }), 400, 'ERR_BAD_REQUEST'],
  [
    'a raw JWT in the query',
    () => ({ url: `/v1/events?token=${HOSTILE_JWT}` }),
    400,
    'ERR_RAW_TOKEN',
  ],
  [
    'a raw JWT in a path parameter',
    () => ({ url: `/v1/tokens/${HOSTILE_JWT}` }),
    400,
    'ERR_RAW_TOKEN',
  ],
  [
    'a path parameter over the limit',
    () => ({ url: `/v1/tokens/${'a'.repeat(MAX_PARAM_LENGTH + 1)}` }),
    414,
    'ERR_URI_TOO_LONG',
  ],
  ['a handler that throws', () => ({ url: '/test/throws' }), 500, 'ERR_INTERNAL'],
  ['a dependency unavailable', () => ({ url: '/test/unavailable' }), 503, 'ERR_UNAVAILABLE'],
  ['a handler timeout', () => ({ url: '/test/slow' }), 503, 'ERR_UNAVAILABLE'],
]

async function send(request: InjectOptions, token: string | null = admin) {
  return app.inject({
    ...request,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...request.headers },
  })
}

describe('the error model', () => {
  it('docs/api.md documents exactly the codes the API answers, each with its status', () => {
    expect(Object.fromEntries(documentedErrors())).toEqual(API_ERROR_STATUS)
    expect([...API_ERROR_CODES].sort()).toEqual(Object.keys(API_ERROR_STATUS).sort())
  })

  it.each(CASES.map(([name, request, status, code]) => ({ name, request, status, code })))(
    '$name: $status $code',
    async ({ request, status, code }) => {
      const res = await send(request())
      expect(res.statusCode, res.body).toBe(status)
      const body = expectErrorModel(res, code)
      expect(body.message).not.toMatch(/internal detail|FST_|\bat \w+ \(/)
    },
  )

  it('405 names the methods the path takes in Allow', async () => {
    const res = await send({ method: 'DELETE', url: `/v1/findings/${FINDING}` })
    expect(res.statusCode).toBe(405)
    expect(res.headers.allow).toBe('GET, HEAD, PATCH')
  })

  it.each([
    ['no token', null, 401, 'ERR_AUTH_MISSING'],
    ['a malformed token', 'not a jwt', 401, 'ERR_AUTH_INVALID'],
  ])('authentication: %s', async (_, token, status, code) => {
    const res = await send({ url: '/v1/events' }, token)
    expect(res.statusCode).toBe(status)
    expectErrorModel(res, code)
  })

  it('a missing role: 403', async () => {
    const res = await send({ url: '/v1/exceptions' }, await keys.token({ roles: ['viewer'] }))
    expectErrorModel(res, 'ERR_FORBIDDEN')
  })

  it('the rate limiter: 429 with Retry-After', async () => {
    const token = await keys.token({ roles: ['viewer'], sub: 'greedy' })
    const answers = []
    for (let i = 0; i < 3; i++) answers.push(await send({ url: '/v1/rules' }, token))
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 429])
    expectErrorModel(answers[2]!, 'ERR_RATE_LIMITED')
    expect(answers[2]!.headers['retry-after']).toMatch(/^\d+$/)
  })

  it('a path parameter over the limit on every parametric route: 414', async () => {
    const routes = (app as unknown as { audtrailRoutes: string[] }).audtrailRoutes.filter((r) =>
      r.includes(':'),
    )
    expect(routes.length).toBeGreaterThanOrEqual(4)
    for (const route of routes) {
      const [method, url] = route.split(' ') as [string, string]
      const res = await send({
        method: method as 'GET',
        url: url.replace(/:[A-Za-z]+/g, 'a'.repeat(MAX_PARAM_LENGTH + 1)),
      })
      expect(res.statusCode, route).toBe(414)
      expectErrorModel(res, 'ERR_URI_TOO_LONG')
    }
  })
})

/** Sends raw bytes (and keeps the connection open until the server answers and closes it). */
function raw(port: number, request: string) {
  return new Promise<{ statusCode: number; headers: Record<string, string>; body: string }>(
    (resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(request))
      let text = ''
      socket.on('data', (d) => (text += String(d)))
      socket.on('error', reject)
      socket.on('close', () => {
        const [head = '', body = ''] = text.split('\r\n\r\n')
        const headers: Record<string, string> = {}
        for (const line of head.split('\r\n').slice(1)) {
          const at = line.indexOf(':')
          headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim()
        }
        resolve({ statusCode: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), headers, body })
      })
    },
  )
}

describe('the error model over HTTP, before and around Fastify', () => {
  const port = () => (app.server.address() as { port: number }).port

  it.each([
    [
      'headers over 16 KiB',
      `GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`,
      431,
      'ERR_HEADERS_TOO_LARGE',
    ],
    [
      'an URL over 16 KiB',
      `GET /v1/events?resource=${'x'.repeat(20_000)} HTTP/1.1\r\nHost: a\r\n\r\n`,
      431,
      'ERR_HEADERS_TOO_LARGE',
    ],
    [
      'a malformed request line',
      'GET /v1/events HTTP/1.1 nonsense\r\n\r\n',
      400,
      'ERR_BAD_REQUEST',
    ],
    [
      'a method Node does not know',
      'FROB /v1/events HTTP/1.1\r\nHost: a\r\n\r\n',
      400,
      'ERR_BAD_REQUEST',
    ],
    [
      'an invalid Content-Length',
      'POST /v1/ingest HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n',
      400,
      'ERR_BAD_REQUEST',
    ],
    [
      'a raw JWT after a fragment mark',
      `GET /v1/events?x=1#${HOSTILE_JWT} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
      400,
      'ERR_RAW_TOKEN',
    ],
    [
      'a dot segment path',
      'GET /v1/../v1/nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
      404,
      'ERR_NOT_FOUND',
    ],
  ])('%s: %i %s', async (_, request, status, code) => {
    const res = await raw(port(), request)
    expect(res.statusCode, res.body).toBe(status)
    expectErrorModel(res, code)
  })

  it('a request not received in time: 408 ERR_REQUEST_TIMEOUT', async () => {
    const slow = await build({ requestTimeout: 200 })
    await slow.listen({ host: '127.0.0.1', port: 0 })
    try {
      const { port } = slow.server.address() as { port: number }
      // Headers never finished: the server gives up and answers.
      const res = await raw(port, 'GET /v1/rules HTTP/1.1\r\nHost: a\r\n')
      expect(res.statusCode, res.body).toBe(408)
      expectErrorModel(res, 'ERR_REQUEST_TIMEOUT')
    } finally {
      await slow.close()
    }
  })
})

describe('random requests', () => {
  it('answer every error in the model, never a 5xx', async () => {
    const random = seededRandom(20261122)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
    const routes = (app as unknown as { audtrailRoutes: string[] }).audtrailRoutes
      .filter((r) => !r.includes('/test/'))
      .map((r) => r.split(' ')[1]!)
    const pieces = [
      'a',
      '%',
      '%2F',
      '%E2%82%AC',
      '..',
      '.',
      '%00',
      '%ZZ',
      '~',
      '€',
      'x'.repeat(300),
      "'",
      '"',
      '\\',
      ';',
      '*',
      'eyJ',
    ]
    const part = () =>
      Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(pieces)).join('')
    const types = [
      'application/json',
      'application/x-ndjson',
      'application/json; charset=utf-8',
      'text/plain',
      'application/xml',
      'multipart/form-data; boundary=x',
      '',
      'garbage',
    ]
    const bodies = [
      '{}',
      '[]',
      '{bad',
      '',
      'null',
      '{"status":"open"}',
      '{"rule":"*","owner":"o","reason":"r","expires_at":"2099-01-01T00:00:00.000Z"}',
      'x'.repeat(BODY_LIMIT + 1),
      '\u0000\u00ff',
    ]
    const tokens = [admin, null, 'garbage', await keys.token({ roles: [] })]
    const methods = METHODS.filter((m) => m !== 'CONNECT')
    let errors = 0
    for (let i = 0; i < 1500; i++) {
      const path = pick(routes).replace(/:[A-Za-z]+/g, () => (random() < 0.5 ? FINDING : part()))
      const query =
        random() < 0.5
          ? `?${pick(['limit', 'tenant', 'token', 'cursor', 'since', part()])}=${part()}`
          : ''
      const method = pick(methods)
      const type = pick(types)
      const request: InjectOptions = {
        method: method as 'GET',
        url: path + query,
        headers: type ? { 'content-type': type } : {},
        ...(method === 'GET' || method === 'HEAD' ? {} : { payload: pick(bodies) }),
      }
      const token = pick(tokens)
      const res = await send(request, token)
      const label = `${method} ${request.url} ${type} -> ${res.statusCode} ${res.body.slice(0, 200)}`
      expect(res.statusCode, label).toBeLessThan(500)
      if (res.statusCode < 400 || method === 'HEAD') continue
      errors++
      expectErrorModel(res)
    }
    expect(errors).toBeGreaterThan(500)
  }, 120_000)
})
