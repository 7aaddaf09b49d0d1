/**
 * No raw JWT reaches the log through the API, and none is taken as a filter or path parameter:
 * every route the app registers (read from the app, so new routes are covered) is sent JWTs in
 * each of its path and query parameters, in several spellings, with JWTs in its credential and
 * other headers too; each answer is 400 ERR_RAW_TOKEN and no line the real logger writes holds
 * a JWT. Errors whose message echoes a request value, and lines a handler writes, are cleaned too.
 */
import { createRequire } from 'node:module'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.js'
import { createAuthenticator } from '../../src/api/auth.js'
import { MAX_PARAM_LENGTH } from '../../src/api/errors.js'
import { openApiDocument } from '../../src/api/openapi.js'
import { loadRoutes } from '../../src/api/route.js'
import { holdsRawJwt, RAW_JWT_REMOVED } from '../../src/events/raw-token.js'
import { createLogger } from '../../src/logger.js'
import { Metrics, pipelineMetrics } from '../../src/metrics.js'
import { sinkTarget } from '../../src/pipeline/ingest.js'
import { createMemorySink } from '../../src/pipeline/memory-sink.js'
import { migrate } from '../../src/storage/migrate.js'
import { API_AUDIENCE, API_ISSUER, apiKeys } from '../helpers/api-tokens.js'
import { HOSTILE_JWT } from '../helpers/hostile.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'
import { expectErrorModel } from './documented-errors.js'

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string }
const storage = testStorage('api_raw_token_logs')
const lines: string[] = []
const sink = { write: (line: string) => void lines.push(line) }
let app: FastifyInstance
let keys: Awaited<ReturnType<typeof apiKeys>>
let bearer: string

const b64 = (v: unknown) =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')
const bytes = (n: number, seed: number) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 131 + seed * 17) & 0xff)).toString(
    'base64url',
  )

/** JWTs of several kinds: JWS with varied headers, an unsigned one, a JWE (five segments). */
function tokens(): [string, string][] {
  return [
    ['the API bearer token itself', bearer],
    ['an RS256 access token', HOSTILE_JWT],
    ['alg none, empty signature', `${b64({ alg: 'none' })}.${b64({ sub: 'x' })}.`],
    ['a header with spaces', `${b64('{ "alg" : "HS256" }')}.${b64({ a: 1 })}.${bytes(32, 1)}`],
    [
      'a JWE',
      [b64({ alg: 'RSA-OAEP', enc: 'A256GCM' }), bytes(256, 2), bytes(12, 3), bytes(90, 4)]
        .concat(bytes(16, 5))
        .join('.'),
    ],
  ]
}

/** Spellings of a JWT in an URL: each must be found, decoded or not. */
const SPELLINGS: [string, (jwt: string) => string][] = [
  ['as it is', (t) => t],
  ['dots as %2E', (t) => t.replaceAll('.', '%2E')],
  ['dots as %2e', (t) => t.replaceAll('.', '%2e')],
  ['dots as %252E (encoded twice)', (t) => t.replaceAll('.', '%252E')],
  [
    'every character percent-encoded',
    (t) => [...t].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).join(''),
  ],
  ['after "Bearer "', (t) => `Bearer%20${t}`],
  ['inside other text', (t) => `at_${t}~x`],
]

/** A valid value for a path parameter, so that only the parameter under test holds a JWT. */
const VALID_PARAM: Record<string, string> = {
  id: '0123456789abcdef0123456789abcdef',
  key: 'at-1',
}

interface Route {
  method: string
  url: string
  pathParams: string[]
  queryParams: string[]
}

const declared = await loadRoutes()

/** Every route of the app (its onRoute collector) with its path and query parameter names. */
function routeTable(): Route[] {
  const paths = openApiDocument(version, declared).paths as Record<
    string,
    Record<string, { parameters?: { name: string; in: string }[] }>
  >
  const registered = (app as unknown as { audtrailRoutes: string[] }).audtrailRoutes
  return registered.flatMap((entry) => {
    const [method, url] = entry.split(' ') as [string, string]
    const pathParams = [...url.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!)
    const operation = paths[url.replace(/:([A-Za-z]+)/g, '{$1}')]?.[method.toLowerCase()]
    // Every documented query parameter, and names no route knows (any name is a place for one).
    const queryParams = [
      ...new Set([
        ...(operation?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        'tenant',
        'cursor',
        'unknown',
      ]),
    ]
    const route = { method, url, pathParams, queryParams }
    return method === 'GET' ? [route, { ...route, method: 'HEAD' }] : [route]
  })
}

const fill = (url: string, values: Record<string, string>) =>
  url.replace(/:([A-Za-z]+)/g, (_, name: string) => values[name] ?? VALID_PARAM[name] ?? 'x')

/** Headers with JWTs everywhere a client could put one; none is refused, none may be logged. */
const headersWith = (jwt: string) => ({
  authorization: `Bearer ${bearer}`,
  cookie: `session=${jwt}; other=1`,
  dpop: jwt,
  'proxy-authorization': `Bearer ${jwt}`,
  'x-api-key': jwt,
  'user-agent': `client/1.0 ${jwt}`,
  referer: `https://app.example.com/?access_token=${jwt}`,
  'x-forwarded-for': jwt,
  host: `${jwt}.example.com`,
  'content-type': 'application/json',
})

beforeAll(async () => {
  keys = await apiKeys()
  bearer = await keys.token({ roles: ['viewer', 'analyst', 'admin', 'ingest'] })
  await migrate(storage, { retention: RETENTION })
  const metrics = new Metrics()
  app = await buildApp({
    logger: createLogger('trace', 'audtrail-test', sink),
    authenticate: createAuthenticator({
      keys: keys.keys,
      issuer: API_ISSUER,
      audience: API_AUDIENCE,
    }),
    metrics,
    readiness: async () => ({}),
    ingest: {
      target: sinkTarget(createMemorySink()),
      retentionDays: 400,
      pipeline: pipelineMetrics(metrics),
    },
    storage,
  })
})
afterAll(async () => {
  await app.close()
  await closeTestStorages()
})

/** Sends one request, then checks the answer and every line logged for it. */
async function refused(method: string, url: string, jwt: string): Promise<void> {
  lines.length = 0
  const res = await app.inject({
    method: method as 'GET',
    url,
    headers: headersWith(jwt),
    payload: method === 'GET' || method === 'HEAD' ? undefined : JSON.stringify({ note: jwt }),
  })
  // Lines written once the answer is sent (request completed) come a tick later.
  await new Promise((resolve) => setImmediate(resolve))
  const label = `${method} ${url.slice(0, 120)}`
  expect(res.statusCode, label).toBe(400)
  if (method !== 'HEAD') {
    const body = expectErrorModel(res, 'ERR_RAW_TOKEN')
    expect(body.message).toMatch(/fingerprint/)
    expect(body.message).toMatch(/jti/)
  }
  expect(lines.length, label).toBeGreaterThanOrEqual(2)
  for (const line of lines) {
    expect(holdsRawJwt(line), `${label}: ${line}`).toBe(false)
    for (const part of jwt.split('.').filter((p) => p.length >= 16))
      expect(line.includes(part.slice(0, 16)), `${label}: ${line}`).toBe(false)
  }
  const incoming = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'incoming request')
  expect(incoming?.req?.method, label).toBe(method)
  expect(incoming.req.url, label).toContain(RAW_JWT_REMOVED)
  expect(incoming.req.headers, label).toBeUndefined()
  const completed = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'request completed')
  expect(completed?.res?.statusCode, label).toBe(400)
}

describe('a raw JWT in a request', () => {
  it('the route table covers every registered route, each with its parameters', () => {
    const table = routeTable()
    expect(table.length).toBeGreaterThanOrEqual(20)
    expect(table.find((r) => r.url === '/v1/tokens/:key')?.pathParams).toEqual(['key'])
    expect(table.find((r) => r.url === '/v1/events')?.queryParams).toEqual(
      expect.arrayContaining(['token', 'client', 'subject', 'resource', 'tool']),
    )
  })

  it('in any path parameter of any route: 400 ERR_RAW_TOKEN, and the log holds no JWT', async () => {
    let sent = 0
    for (const route of routeTable())
      for (const name of route.pathParams)
        for (const [, jwt] of tokens())
          for (const [, spell] of SPELLINGS) {
            await refused(route.method, fill(route.url, { [name]: spell(jwt) }), jwt)
            sent++
          }
    expect(sent).toBeGreaterThan(100)
  })

  it('in any query parameter of any route: 400 ERR_RAW_TOKEN, and the log holds no JWT', async () => {
    let sent = 0
    for (const route of routeTable())
      for (const name of route.queryParams)
        for (const [, jwt] of tokens())
          for (const [, spell] of SPELLINGS) {
            await refused(route.method, `${fill(route.url, {})}?limit=5&${name}=${spell(jwt)}`, jwt)
            sent++
          }
    expect(sent).toBeGreaterThan(1000)
  })

  it.each([
    ['as a query parameter name', (t: string) => `/v1/events?${t}=1`],
    ['repeated with a valid value', (t: string) => `/v1/events?token=at-1&token=${t}`],
    ['on no route', (t: string) => `/v1/${t}`],
    ['under a route', (t: string) => `/v1/tokens/${t}/more`],
    [
      'in a path parameter over the router limit',
      (t: string) => `/v1/tokens/${t}${'a'.repeat(MAX_PARAM_LENGTH)}`,
    ],
    ['beside a malformed percent-escape', (t: string) => `/v1/tokens/${t}%E0%A4%A`],
  ])('%s: 400 ERR_RAW_TOKEN, and the log holds no JWT', async (_, at) => {
    for (const [, jwt] of tokens()) await refused('GET', at(jwt), jwt)
  })
})

describe('log lines about requests', () => {
  it('hold no JWT from an error message or a handler that echoes a request value', async () => {
    const echo = await buildApp({
      logger: createLogger('trace', 'audtrail-test', sink),
      authenticate: createAuthenticator({}),
      metrics: new Metrics(),
      readiness: async () => ({}),
    })
    echo.get('/echo', async (request) => {
      const value = String(request.headers['x-value'])
      request.log.info({ value, nested: { deep: [value] } }, `handling ${value}`)
      request.log.child({ bound: value }).warn(`bound ${value}`)
      throw Object.assign(new Error(`cannot handle ${value}`), { detail: value })
    })
    try {
      for (const [name, jwt] of tokens())
        for (const [spelling, spell] of SPELLINGS) {
          lines.length = 0
          const res = await echo.inject({
            method: 'GET',
            url: '/echo',
            headers: { 'x-value': spell(jwt) },
          })
          await new Promise((resolve) => setImmediate(resolve))
          expectErrorModel(res, 'ERR_INTERNAL')
          const logged = lines.map((l) => JSON.parse(l) as { msg?: string })
          // The lines were written (and cleaned), not dropped.
          expect(logged.map((l) => l.msg)).toEqual(
            expect.arrayContaining(['unhandled error', 'incoming request']),
          )
          for (const line of lines)
            expect(holdsRawJwt(line), `${name} ${spelling}: ${line}`).toBe(false)
        }
    } finally {
      await echo.close()
    }
  })
})

describe('the logger (createLogger), whoever logs through it', () => {
  const logged = (write: (log: ReturnType<typeof createLogger>, jwt: string) => void) =>
    tokens().flatMap(([name, jwt]) =>
      SPELLINGS.map(([spelling, spell]) => {
        const out: string[] = []
        write(
          createLogger('trace', 'audtrail-test', { write: (l: string) => void out.push(l) }),
          spell(jwt),
        )
        return { label: `${name}, ${spelling}`, out }
      }),
    )

  it.each([
    ['in a message', (log, jwt) => log.info(`token ${jwt}`)],
    ['in a format argument', (log, jwt) => log.info('token %s', jwt)],
    ['in a binding', (log, jwt) => log.child({ client: jwt }).info('x')],
    ['in a nested field', (log, jwt) => log.info({ a: { b: [{ c: jwt }] } }, 'x')],
    ['as a field name', (log, jwt) => log.info({ [jwt]: 1 }, 'x')],
    ['in an error message', (log, jwt) => log.error({ err: new Error(`bad ${jwt}`) }, 'x')],
    ['in an error cause', (log, jwt) => log.error(new Error('outer', { cause: new Error(jwt) }))],
    [
      'in an error field',
      (log, jwt) => log.error({ err: Object.assign(new Error('x'), { detail: jwt }) }),
    ],
    [
      'in a request URL and host',
      (log, jwt) =>
        log.info({ req: { method: 'GET', url: `/v1/tokens/${jwt}?q=${jwt}`, host: jwt } }, 'x'),
    ],
  ] as [string, (log: ReturnType<typeof createLogger>, jwt: string) => void][])(
    'a raw JWT %s is cut out, the line kept',
    (_, write) => {
      for (const { label, out } of logged(write)) {
        expect(out, label).toHaveLength(1)
        expect(holdsRawJwt(out[0]!), `${label}: ${out[0]}`).toBe(false)
        expect(out[0], label).toContain(RAW_JWT_REMOVED)
        expect(JSON.parse(out[0]!)).toMatchObject({ level: expect.any(Number) })
      }
    },
  )

  it.each(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'dpop', 'x-api-key'])(
    'the %s header is redacted wherever headers are logged',
    (header) => {
      for (const { label, out } of logged((log, jwt) => {
        log.info({ headers: { [header]: jwt } }, 'x')
        log.info({ req: { headers: { [header]: jwt } } }, 'x')
        log.info({ request: { headers: { [header]: jwt } } }, 'x')
        log.info({ upstream: { headers: { [header]: jwt } } }, 'x')
      })) {
        expect(out, label).toHaveLength(4)
        for (const line of out) {
          expect(holdsRawJwt(line), `${label}: ${line}`).toBe(false)
          expect(line).not.toContain(RAW_JWT_REMOVED)
        }
        // Redacted where headers are kept; a request (req) is logged without its headers at all.
        for (const i of [0, 2, 3]) expect(out[i], label).toContain('"[redacted]"')
        expect(JSON.parse(out[1]!).req, label).toEqual({})
      }
    },
  )
})
