/** Collector overhead: a Fastify RS and an Express MCP server, jose alone vs. the enforce-mode collector. */
// Run: npx tsx bench/collector-overhead.ts [--seconds 10] [--warmup 3] [--connections 10]
// The servers run in a child process, autocannon in this one, both on loopback. Each framework
// has these arms: `baseline` verifies every request with jose itself (what a resource server
// does without audtrail), `collector` is the enforce-mode collector as shipped (verified-token
// cache on), `nocache` the same collector with `cacheSize: 0`, so jose runs on every request as in
// the baseline. Events go through createEmitter to Kafka (one fresh topic) when a broker answers
// on AUDTRAIL_TEST_KAFKA_BROKERS (default 127.0.0.1:9092), else to a no-op transport; with Kafka,
// a `noop` arm (the collector emitting to the no-op transport) isolates what Kafka costs.
// Each arm is measured in two rounds (order reversed in the second) of half the time each.
// Latency percentiles are computed from every 2xx response time (autocannon's own histogram
// rounds to whole milliseconds); the figures of a round are averaged.
import { fork, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { RequestHandler } from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTVerifyOptions } from 'jose'
import { Kafka, logLevel } from 'kafkajs'
import { createEmitter, type AudtrailEmitter } from '../src/collectors/emitter/index.js'
import { audtrailExpress } from '../src/collectors/express.js'
import audtrail from '../src/collectors/fastify.js'
import { ISSUER, mint, RESOURCE, signingKey } from '../test/collectors/rs/fixtures.js'
import { listen, mcpApp } from '../test/collectors/rs/mcp-peer.js'

type Arm = 'baseline' | 'collector' | 'noop' | 'nocache'
interface Ready {
  arms: Arm[]
  ports: Record<string, number>
  token: string
  transport: string
}
interface Figures {
  rps: number
  p50: number
  p99: number
  non2xx: number
}

const args = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
  },
}).values

async function main(): Promise<void> {
  const seconds = Number(args.seconds)
  const warmup = Number(args.warmup)
  const connections = Number(args.connections)
  const brokers = (process.env.AUDTRAIL_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
  const kafka = await kafkaTopic(brokers)
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_KAFKA: kafka ? JSON.stringify(kafka) : '' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  try {
    const ready = await message<Ready>(child, 'ready')
    console.log(`transport: ${ready.transport}; ${connections} connections; ${seconds} s per arm`)
    const auth = { authorization: `Bearer ${ready.token}` }
    const call = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'hello' } },
    })
    const groups = {
      fastify: { path: '/items', method: 'GET', headers: auth, body: undefined },
      express_mcp: {
        path: '/mcp',
        method: 'POST',
        body: call,
        headers: {
          ...auth,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
      },
    } as const
    const summary: Record<string, number | string> = { bench: 'collector-overhead' }
    for (const [group, request] of Object.entries(groups)) {
      const arms = ready.arms
      const url = (arm: Arm) => `http://127.0.0.1:${ready.ports[`${group}-${arm}`]}${request.path}`
      for (const arm of arms) await load(url(arm), request, warmup, connections)
      const rounds = Object.fromEntries(arms.map((a) => [a, [] as Figures[]]))
      for (const order of [arms, [...arms].reverse()])
        for (const arm of order)
          rounds[arm]!.push(await load(url(arm), request, seconds / 2, connections))
      const f = Object.fromEntries(arms.map((a) => [a, mean(rounds[a]!)])) as Record<Arm, Figures>
      print(group, arms, f)
      if (f.noop !== undefined)
        Object.assign(summary, {
          [`${group}_noop_ratio`]: round(f.noop.rps / f.baseline.rps, 3),
          [`${group}_noop_p99_added_ms`]: round(f.noop.p99 - f.baseline.p99, 3),
        })
      Object.assign(summary, {
        [`${group}_ratio`]: round(f.collector.rps / f.baseline.rps, 3),
        [`${group}_p50_added_ms`]: round(f.collector.p50 - f.baseline.p50, 3),
        [`${group}_p99_added_ms`]: round(f.collector.p99 - f.baseline.p99, 3),
        [`${group}_nocache_ratio`]: round(f.nocache.rps / f.baseline.rps, 3),
        [`${group}_nocache_p99_added_ms`]: round(f.nocache.p99 - f.baseline.p99, 3),
        [`${group}_baseline_rps`]: Math.round(f.baseline.rps),
        [`${group}_collector_rps`]: Math.round(f.collector.rps),
        [`${group}_non2xx`]: arms.reduce(
          (n, a) => n + rounds[a]!.reduce((m, r) => m + r.non2xx, 0),
          0,
        ),
      })
    }
    child.send('stop')
    const stats = await message<Record<string, { emitted: number; sent: number; dropped: number }>>(
      child,
      'stats',
    )
    console.log('emitter stats per arm:', JSON.stringify(stats))
    summary.transport = ready.transport
    summary.events_dropped = Object.values(stats).reduce((n, s) => n + s.dropped, 0)
    console.log(JSON.stringify(summary))
  } finally {
    child.kill()
    await kafka?.cleanup()
  }
}

/** A fresh topic on a reachable broker, or undefined (the no-op transport is used then). */
async function kafkaTopic(brokers: string[]) {
  const admin = new Kafka({
    clientId: 'audtrail-bench',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    retry: { retries: 1 },
  }).admin()
  try {
    await admin.connect()
    const topic = `audtrail.bench.${randomUUID()}`
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })
    return {
      brokers,
      topic,
      cleanup: async () => {
        await admin.deleteTopics({ topics: [topic] }).catch(() => {})
        await admin.disconnect()
      },
    }
  } catch {
    await admin.disconnect().catch(() => {})
    return undefined
  }
}

function message<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type?: string; data?: T }) => {
      if (m?.type !== type) return
      child.off('message', onMessage)
      resolve(m.data as T)
    }
    child.on('message', onMessage)
    child.once('exit', (code) => reject(new Error(`server process exited (${code})`)))
  })
}

type Autocannon = (
  opts: Record<string, unknown>,
  cb: (err: Error | null, result: { requests: { total: number }; non2xx: number }) => void,
) => {
  on(event: 'response', fn: (c: unknown, status: number, b: number, ms: number) => void): void
}
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

function load(
  url: string,
  request: { method: string; headers: Record<string, string>; body: string | undefined },
  seconds: number,
  connections: number,
): Promise<Figures> {
  return new Promise((resolve, reject) => {
    const times: number[] = []
    const instance = autocannon(
      { url, connections, duration: seconds, ...request },
      (err, result) => {
        if (err) return reject(err)
        times.sort((a, b) => a - b)
        const at = (q: number) =>
          times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN
        resolve({ rps: times.length / seconds, p50: at(0.5), p99: at(0.99), non2xx: result.non2xx })
      },
    )
    instance.on('response', (_c, status, _b, ms) => {
      if (status >= 200 && status < 300) times.push(ms)
    })
  })
}

function mean(rs: Figures[]): Figures {
  const avg = (k: keyof Figures) => rs.reduce((n, r) => n + r[k], 0) / rs.length
  return { rps: avg('rps'), p50: avg('p50'), p99: avg('p99'), non2xx: avg('non2xx') }
}

const round = (n: number, d: number) => Math.round(n * 10 ** d) / 10 ** d

function print(group: string, arms: Arm[], f: Record<Arm, Figures>): void {
  console.log(`\n${group}`)
  for (const arm of arms) {
    const r = f[arm]
    const ratio = arm === 'baseline' ? '' : `  ratio ${(r.rps / f.baseline.rps).toFixed(3)}`
    console.log(
      `  ${arm.padEnd(9)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms${ratio}`,
    )
  }
}

// ---------------------------------------------------------------------------------------------
// The server process: six servers on loopback, one token they all accept.

async function serve(): Promise<void> {
  const kafka = process.env.BENCH_KAFKA
    ? (JSON.parse(process.env.BENCH_KAFKA) as { brokers: string[]; topic: string })
    : undefined
  const key = await signingKey('bench-1')
  const jwks: JSONWebKeySet = { keys: [key.publicJwk] }
  const token = await mint({ key, expiresIn: 3600 })
  const emitters: Record<string, AudtrailEmitter> = {}
  const emitter = (name: string, noop: boolean) =>
    (emitters[name] = createEmitter({
      transport:
        kafka && !noop
          ? { type: 'kafka', brokers: kafka.brokers, topic: kafka.topic }
          : { name: 'noop', send: async () => {}, close: async () => {} },
      closeOnExit: false,
    }))
  const arms: Arm[] = kafka
    ? ['baseline', 'collector', 'noop', 'nocache']
    : ['baseline', 'collector', 'nocache']
  const options = (group: string, arm: Arm) => ({
    resource: RESOURCE,
    issuer: ISSUER,
    jwks,
    mode: 'enforce' as const,
    emitter: emitter(`${group}-${arm}`, arm === 'noop'),
    ...(arm === 'nocache' ? { cacheSize: 0 } : {}),
  })
  // What a resource server does without audtrail: the same RFC 9068 checks, on every request.
  const keySet = createLocalJWKSet(jwks)
  const verifyOptions: JWTVerifyOptions = {
    issuer: ISSUER,
    audience: RESOURCE,
    typ: 'at+jwt',
    algorithms: ['ES256', 'RS256'],
    requiredClaims: ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'],
    clockTolerance: 60,
  }
  const verify = async (header: string | undefined) => {
    if (!header?.startsWith('Bearer ')) return false
    return jwtVerify(header.slice(7), keySet, verifyOptions).then(
      () => true,
      () => false,
    )
  }
  const baselineMiddleware: RequestHandler = (req, res, next) => {
    void verify(req.headers.authorization).then((ok) => (ok ? next() : res.status(401).end()))
  }

  const ports: Record<string, number> = {}
  const closers: (() => Promise<unknown>)[] = []
  const fastify = async (arm: Arm, register: (app: FastifyInstance) => PromiseLike<unknown>) => {
    const app = Fastify()
    await register(app)
    app.get('/items', async () => ({ items: [{ id: 1, name: 'one' }] }))
    await app.listen({ host: '127.0.0.1', port: 0 })
    ports[`fastify-${arm}`] = (app.server.address() as { port: number }).port
    closers.push(() => app.close())
  }
  await fastify('baseline', async (app) =>
    app.addHook('onRequest', async (request, reply) => {
      if (!(await verify(request.headers.authorization))) return reply.code(401).send()
    }),
  )
  for (const arm of arms.slice(1))
    await fastify(arm, (app) => app.register(audtrail, options('fastify', arm)))
  for (const arm of arms) {
    const middleware =
      arm === 'baseline'
        ? baselineMiddleware
        : audtrailExpress({ ...options('express_mcp', arm), protect: '/mcp' })
    const server = await listen(mcpApp(middleware as RequestHandler))
    ports[`express_mcp-${arm}`] = Number(new URL(server.url).port)
    closers.push(server.close)
  }

  process.on('message', async (m) => {
    if (m !== 'stop') return
    await Promise.all(closers.map((c) => c()))
    await Promise.all(Object.values(emitters).map((e) => e.close()))
    const stats = Object.fromEntries(Object.entries(emitters).map(([n, e]) => [n, e.stats()]))
    process.send?.({ type: 'stats', data: stats }, () => process.exit(0))
  })
  const transport = kafka
    ? `kafka (${kafka.brokers.join(',')}, topic ${kafka.topic})`
    : 'no-op (Kafka unreachable)'
  process.send?.({ type: 'ready', data: { arms, ports, token, transport } satisfies Ready })
}

// Last: everything above (constants included) is initialized by now.
if (args.serve) await serve()
else await main()
