/**
 * `protect` prefixes against the frameworks' REAL routers: raw HTTP over `net.connect`, so the
 * request target is exactly the bytes written (case variants, absolute form, percent-encoding,
 * dot segments, backslashes...). Each variant is first sent to the same app without the
 * collector: whenever that router hands it to a protected handler, the collector must answer
 * 401 instead, and record the attempt.
 */
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import express, { type Express, type RequestHandler } from 'express'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import audtrailFastify from '../../src/collectors/fastify.js'
import { audtrailExpress, type ExpressCollectorOptions } from '../../src/collectors/express.js'
import { listen, type Listening } from './rs/mcp-peer.js'
import { ISSUER, signingKey, TestEmitter, type SigningKey } from './rs/fixtures.js'

const MCP = 'https://mcp-a.example/mcp'
const PROTECT = ['/mcp', '/orders']

interface Answer {
  status: number
  head: string
  body: string
}

/** One request on a fresh connection, the target written verbatim; the whole answer. */
function send(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body = '',
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.setTimeout(15_000, () => socket.destroy(new Error(`no answer to ${method} ${target}`)))
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', reject)
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1')
      const split = text.indexOf('\r\n\r\n')
      const head = split === -1 ? text : text.slice(0, split)
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)
      resolve({ status, head, body: split === -1 ? '' : text.slice(split + 4) })
    })
    const lines = [
      `${method} ${target} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Connection: close',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      `Content-Length: ${Buffer.byteLength(body)}`,
    ]
    socket.end(Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1'))
  })
}

/** What the protected handlers answer: one of these in a body means the handler ran. */
const PROTECTED_MARKERS = ['HANDLER:mcp', 'TOOL:', 'HANDLER:orders', 'HANDLER:options']
const UNPROTECTED_MARKERS = ['HANDLER:health', 'HANDLER:files', 'HANDLER:docs']
const reached = (a: Answer, markers: readonly string[]) =>
  markers.find((m) => a.body.includes(m) || a.head.includes(m))

const TOOLS_CALL = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'whoami', arguments: {} },
})
const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
}

/** Targets for `POST` (the MCP endpoint) and `GET` (the orders API); `{port}` is the server's. */
const POST_TARGETS = [
  '/mcp',
  '/MCP',
  '/Mcp',
  '/Mcp/',
  '/mcp/',
  '/MCP/',
  '//mcp',
  '/mcp//',
  '/mcp;x',
  '/mcp;jsessionid=1',
  '/MCP;x=1/',
  '/%6dcp',
  '/%6Dcp',
  '/%6D%63%70',
  '/m%63p',
  '/%4Dcp',
  '/%256dcp',
  '/%25%36%64cp',
  '/%6Dcp/',
  '/x/../mcp',
  '/%2e%2e/mcp',
  '/x/%2e%2e/mcp',
  '/x/%252e%252e/mcp',
  '/x%2F..%2Fmcp',
  '/./mcp',
  '/mcp/.',
  '/mcp/..;/x',
  '/..;/mcp',
  '/mcp#frag',
  '/mcp#/../x',
  '/mcp/#',
  '/mcp?x=1',
  '/mcp\\',
  '/\\mcp',
  '/mcp\\#x',
  '/MCP\\#x',
  '/%2fmcp',
  '/mcp%2f',
  '/MCP%2F',
  '/mcp%5C',
  '/mcp%3Fx',
  '/mcp%zz',
  '/mcp%',
  '/mcp%c3%28',
  '/mcp%00',
  'http://127.0.0.1:{port}/mcp',
  'HTTP://127.0.0.1:{port}/MCP',
  'https://h/mcp',
  'http://h/%6dcp',
  'http://h/Mcp/',
  'http://h//mcp',
  'ws://h/mcp',
  'foo://h/mcp',
  'foo:///mcp',
  'http:///mcp',
  'http://h@x/mcp',
  'http://h;x/mcp',
  'http://h/mcp#',
  'http://h?x/mcp',
  '//h/mcp',
  '*',
]
const GET_TARGETS = [
  '/orders',
  '/ORDERS',
  '/Orders/',
  '/%6Frders',
  '/%6frders/1',
  '/orders/1',
  '/Orders/1',
  '/orders%2F1',
  '/orders;x',
  '//orders',
  '/files/../orders',
  '/files/%2e%2e/orders',
  'http://h/orders',
  'http://h/ORDERS/1',
  'https://h/%6Frders',
  'ws://h/Orders',
  'foo://h/orders',
  'http:///orders',
  '/orders\\#x',
  '/ORDERS/%2e%2e/orders',
]
/** Spellings of unprotected routes: what the bare router serves, the collector must let through. */
const OPEN_TARGETS = [
  '/health',
  '/health/',
  '/HEALTH',
  '/%68ealth',
  '//health',
  '/health;x',
  '/health?next=/mcp',
  'http://h/health',
  '/mcp-docs',
  '/MCP-docs',
  '/files/a',
  '/files/mcp',
  '/Files/orders',
]

interface Framework {
  name: string
  /** the app without any collector, then the same app behind the collector */
  build(emitter: TestEmitter | undefined): Promise<number>
  /**
   * spellings this router is known (observed) to route to a protected handler; with the default
   * setups, every one of them passed the raw prefix comparison of earlier versions
   */
  knownRouted: string[]
}

let key: SigningKey
const closers: (() => Promise<void>)[] = []

beforeAll(async () => {
  key = await signingKey('k1')
})
afterAll(async () => {
  await Promise.all(closers.map((c) => c()))
})

const enforce = (emitter: TestEmitter) => ({
  resource: MCP,
  issuer: ISSUER,
  jwks: { keys: [key.publicJwk] },
  mode: 'enforce' as const,
  emitter,
  source: { kind: 'mcp_server' as const, id: 'mcp-a' },
  protectedResourceMetadata: true,
})

async function fastifyApp(
  emitter: TestEmitter | undefined,
  options: FastifyServerOptions,
  scoped: boolean,
): Promise<number> {
  const app = Fastify(options) as unknown as FastifyInstance
  const protectedRoutes = (scope: FastifyInstance) => {
    scope.post('/mcp', async () => 'HANDLER:mcp')
    scope.options('/mcp', async (_req, reply) => reply.send('HANDLER:options'))
    scope.get('/orders', async () => 'HANDLER:orders')
    scope.get('/orders/:id', async () => 'HANDLER:orders')
  }
  if (scoped) {
    // docs/collectors.md: the plugin registered inside the context that holds the protected routes.
    await app.register(async (scope) => {
      if (emitter !== undefined) await scope.register(audtrailFastify, enforce(emitter))
      protectedRoutes(scope)
    })
  } else {
    if (emitter !== undefined)
      await app.register(audtrailFastify, { ...enforce(emitter), protect: PROTECT })
    protectedRoutes(app)
  }
  app.get('/health', async () => 'HANDLER:health')
  app.get('/mcp-docs', async () => 'HANDLER:docs')
  app.get('/files/*', async () => 'HANDLER:files')
  await app.listen({ port: 0, host: '127.0.0.1' })
  closers.push(() => app.close())
  return (app.server.address() as AddressInfo).port
}

/** docs/collectors.md's Express MCP server: `express.json()`, the collector, the MCP SDK. */
async function expressApp(
  emitter: TestEmitter | undefined,
  mount: (app: Express, collector: RequestHandler) => void,
  options: Partial<ExpressCollectorOptions> = {},
): Promise<number> {
  const app = express()
  app.use(express.json())
  if (emitter !== undefined) mount(app, audtrailExpress({ ...enforce(emitter), ...options }))
  app.post('/mcp', async (req, res) => {
    const server = new McpServer({ name: 'files', version: '1.0.0' })
    server.registerTool('whoami', { description: 'The calling client' }, async (extra) => ({
      content: [{ type: 'text', text: `TOOL:${extra.authInfo?.clientId ?? 'anonymous'}` }],
    }))
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined })
    res.on('close', () => void Promise.all([transport.close(), server.close()]))
    await server.connect(transport)
    await transport.handleRequest(req, res, req.body)
  })
  app.options('/mcp', (_req, res) => {
    res.send('HANDLER:options')
  })
  app.get(['/orders', '/orders/:id'], (_req, res) => void res.send('HANDLER:orders'))
  app.get('/health', (_req, res) => void res.send('HANDLER:health'))
  app.get('/mcp-docs', (_req, res) => void res.send('HANDLER:docs'))
  app.use('/files', (_req, res) => void res.send('HANDLER:files'))
  const server: Listening = await listen(app)
  closers.push(() => server.close())
  return Number(new URL(server.url).port)
}

const FRAMEWORKS: Framework[] = [
  {
    name: 'Fastify 5 (default router), protect prefixes',
    build: (e) => fastifyApp(e, {}, false),
    knownRouted: ['POST /%6dcp', 'POST http://127.0.0.1:{port}/mcp', 'GET /%6Frders'],
  },
  {
    name: 'Fastify 5 (case-insensitive, trailing/duplicate slashes, ; delimiter), protect prefixes',
    build: (e) =>
      fastifyApp(
        e,
        {
          // useSemicolonDelimiter is read at run time but missing from the 5.x type
          routerOptions: {
            caseSensitive: false,
            ignoreTrailingSlash: true,
            ignoreDuplicateSlashes: true,
            useSemicolonDelimiter: true,
          } as FastifyServerOptions['routerOptions'],
        },
        false,
      ),
    knownRouted: ['POST /MCP', 'POST //mcp', 'POST /mcp;x', 'POST /%4Dcp', 'GET /Orders/'],
  },
  {
    name: 'Fastify 5, plugin registered in the scope of the protected routes (no protect)',
    build: (e) => fastifyApp(e, {}, true),
    knownRouted: ['POST /%6dcp', 'POST /mcp#frag', 'POST https://h/mcp', 'GET /%6Frders'],
  },
  {
    name: 'Express 5 + MCP SDK, app.use(collector) with protect prefixes',
    build: (e) => expressApp(e, (app, c) => app.use(c), { protect: PROTECT }),
    knownRouted: [
      'POST /MCP',
      'POST /Mcp/',
      'POST http://127.0.0.1:{port}/MCP',
      'GET HTTP://h/ORDERS/1',
      'GET foo://h/orders',
      'GET /orders\\#x',
      'GET /ORDERS',
    ],
  },
  {
    name: 'Express 5 + MCP SDK, app.use(paths, collector) mounted on the routes (no protect)',
    build: (e) =>
      expressApp(e, (app, c) =>
        app.use(['/mcp', '/orders', '/.well-known/oauth-protected-resource'], c),
      ),
    knownRouted: [
      'POST /MCP',
      'POST /mcp/#',
      'POST http:///mcp',
      'GET ws://h/Orders',
      'GET /orders\\#x',
    ],
  },
]

describe.each(FRAMEWORKS)('$name', (framework) => {
  let bare: number
  let guarded: number
  let emitter: TestEmitter
  const fill = (t: string, port: number) => t.replace('{port}', String(port))

  beforeAll(async () => {
    emitter = new TestEmitter()
    bare = await framework.build(undefined)
    guarded = await framework.build(emitter)
  })
  afterAll(() => {
    expect(emitter.invalid).toEqual([])
  })

  async function both(method: string, target: string, headers: Record<string, string> = {}) {
    const body = method === 'POST' ? TOOLS_CALL : ''
    const h = method === 'POST' ? { ...MCP_HEADERS, ...headers } : headers
    const reference = await send(bare, method, fill(target, bare), h, body)
    const before = emitter.events.length
    const answer = await send(guarded, method, fill(target, guarded), h, body)
    return { reference, answer, events: emitter.events.slice(before) }
  }

  function expectChallenged(method: string, answer: Answer, events: TestEmitter['events']) {
    expect(answer.status).toBe(401)
    expect(answer.head.toLowerCase()).toContain('www-authenticate: bearer')
    expect(reached(answer, PROTECTED_MARKERS)).toBeUndefined()
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      event_type: 'token.presented',
      decision: 'rejected',
      reason: 'missing_token',
      http: { method, status: 401 },
    })
  }

  it.each([
    ...POST_TARGETS.map((t) => ['POST', t] as const),
    ...GET_TARGETS.map((t) => ['GET', t] as const),
  ])('%s %s never reaches a protected handler without a token', async (method, target) => {
    const { reference, answer, events } = await both(method, target)
    // Never the handler's answer, whatever the spelling.
    expect(reached(answer, PROTECTED_MARKERS)).toBeUndefined()
    // Where the bare router reaches a protected handler, the collector challenges and records.
    if (reached(reference, PROTECTED_MARKERS) !== undefined)
      expectChallenged(method, answer, events)
    // Every challenge is recorded, and nothing else is.
    if (answer.status === 401) expectChallenged(method, answer, events)
    else expect(events).toEqual([])
  })

  it('challenges the spellings this router is known to route to a protected handler', async () => {
    for (const variant of framework.knownRouted) {
      const [method, target] = variant.split(' ') as [string, string]
      const { reference, answer, events } = await both(method, target)
      expect(
        reached(reference, PROTECTED_MARKERS),
        `${variant} reaches the bare router`,
      ).toBeDefined()
      expectChallenged(method, answer, events)
    }
  })

  it.each(OPEN_TARGETS)(
    'GET %s stays reachable without a token when the router serves it',
    async (target) => {
      const { reference, answer, events } = await both('GET', target)
      const open = reached(reference, UNPROTECTED_MARKERS)
      if (open === undefined) return expect(reached(answer, PROTECTED_MARKERS)).toBeUndefined()
      expect(answer.status).toBe(200)
      expect(reached(answer, UNPROTECTED_MARKERS)).toBe(open)
      expect(events).toEqual([])
    },
  )

  it('serves /health through the collector (the open routes are really there)', async () => {
    const { answer, events } = await both('GET', '/health')
    expect(answer.status).toBe(200)
    expect(answer.body).toContain('HANDLER:health')
    expect(events).toEqual([])
  })

  it('lets a real CORS preflight through and challenges any other OPTIONS', async () => {
    const preflight = { origin: 'https://app.example', 'access-control-request-method': 'POST' }
    const passed = await both('OPTIONS', '/mcp', preflight)
    expect(passed.answer.status).not.toBe(401)
    expect(reached(passed.answer, PROTECTED_MARKERS)).toBe('HANDLER:options')
    expect(passed.events).toEqual([])

    for (const [target, headers] of [
      ['/mcp', {}],
      ['/mcp', { origin: 'https://app.example' }],
      ['/mcp', { 'access-control-request-method': 'POST' }],
      ['/mcp/', {}],
      ['http://h/mcp', {}],
    ] as const) {
      const { reference, answer, events } = await both('OPTIONS', target, headers)
      if (reached(reference, PROTECTED_MARKERS) !== undefined)
        expectChallenged('OPTIONS', answer, events)
      else expect(reached(answer, PROTECTED_MARKERS)).toBeUndefined()
    }
    const plain = await both('OPTIONS', '/mcp')
    expect(reached(plain.reference, PROTECTED_MARKERS)).toBe('HANDLER:options')
    expectChallenged('OPTIONS', plain.answer, plain.events)
  })

  it('challenges a "preflight" that carries a body', async () => {
    const preflight = { origin: 'https://app.example', 'access-control-request-method': 'POST' }
    const before = emitter.events.length
    const answer = await send(guarded, 'OPTIONS', '/mcp', preflight, '{"x":1}')
    expectChallenged('OPTIONS', answer, emitter.events.slice(before))
  })

  it('serves the RFC 9728 metadata to GET without a token', async () => {
    const { answer, events } = await both('GET', '/.well-known/oauth-protected-resource/mcp')
    expect(answer.status).toBe(200)
    expect(JSON.parse(answer.body)).toMatchObject({ resource: MCP })
    expect(events).toEqual([])
  })
})

describe('the metadata exemption is for GET and HEAD of the exact path only', () => {
  it('challenges a POST to the metadata path when the collector covers it', async () => {
    const emitter = new TestEmitter()
    const port = await expressApp(emitter, (app, c) =>
      app.use(['/mcp', '/.well-known/oauth-protected-resource'], c),
    )
    const post = await send(
      port,
      'POST',
      '/.well-known/oauth-protected-resource/mcp',
      MCP_HEADERS,
      '{}',
    )
    expect(post.status).toBe(401)
    expect(emitter.events.map((e) => [e.reason, e.http?.method])).toEqual([
      ['missing_token', 'POST'],
    ])
    const head = await send(port, 'HEAD', '/.well-known/oauth-protected-resource/mcp')
    expect(head.status).toBe(200)
    expect(emitter.events).toHaveLength(1)
  })
})
