/** Collector overhead, like for like: observe and enforce mode against the same host without audtrail. */
// Run: npm run bench:collector-overhead [-- --rounds 5 --seconds 2 --warmup 1 --connections 10]
//      (or npx tsx bench/collector-overhead.ts ...; --only fastify|express_mcp, --pairs a,b)
//
// Two hosts, each in a child process on loopback, loaded by autocannon from this process: a
// Fastify resource server (GET /items) and an MCP SDK server behind Express (POST /mcp,
// tools/call). Each host runs as several servers, one per arm:
//
//   host_uncached   the host verifies the token itself with jose on every request, no audtrail
//   host_cached     the same with a cache of verified tokens (by token, until `exp`, at most
//                   10 minutes, 10 000 entries, least recently used out): audtrail's policy
//   observe_<p>_<t> host_<p> plus the collector in observe mode (its decoded-token cache on, as
//                   shipped): the host still decides; audtrail only records
//   enforce_<p>_<t> the collector in enforce mode alone (it verifies; the host does not), with
//                   `cacheSize: 0` for p = uncached, the default cache for p = cached
//
// where <t> is `kafka` (events to a fresh topic per arm on AUDTRAIL_TEST_KAFKA_BROKERS, default
// 127.0.0.1:9092; arms are left out when no broker answers) or `noop` (a transport that counts
// and drops). Each arm is compared with the host of the same cache policy, in pairs: every
// round runs each pair back to back (A then B, B then A in the next round) for `--seconds`,
// after a warm-up of every server. Per round the ratio of req/s and the difference of p50 and
// p99 are taken; the medians over rounds are reported, with their spread (min..max).
//
// No event may be lost: each arm's server counts the requests it received, its emitter the
// events emitted, sent and dropped, and the events received are counted where they land (the
// topic's offsets for Kafka, the no-op transport's counter). `events_lost` sums every gap.
//
// The collectors are loaded from dist/ (what a user runs; `npm run bench:...` builds it first),
// or from src/ through tsx with BENCH_LIB=src, which adds tsx's per-closure naming helper to
// audtrail's side only. The tree used is printed.
//
// Latency percentiles are computed from every 2xx response time (autocannon's own histogram
// rounds to whole milliseconds). The machine's load average is printed at start and end: on a
// shared machine only the ratios of interleaved rounds are worth reading.
import { fork, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import type { Server } from 'node:http'
import { createRequire } from 'node:module'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { RequestHandler } from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTVerifyOptions } from 'jose'
import { Kafka, logLevel } from 'kafkajs'
import type * as Emitters from '../src/collectors/emitter/index.js'
import type { AudtrailEmitter, Transport } from '../src/collectors/emitter/index.js'
import type * as Express from '../src/collectors/express.js'
import type * as FastifyPlugin from '../src/collectors/fastify.js'
import { ISSUER, mint, RESOURCE, signingKey } from '../test/collectors/rs/fixtures.js'
import { listen, mcpApp } from '../test/collectors/rs/mcp-peer.js'

const GROUPS = ['fastify', 'express_mcp'] as const
type Group = (typeof GROUPS)[number]
type Policy = 'uncached' | 'cached'
type Mode = 'observe' | 'enforce'
type Via = 'kafka' | 'noop'

interface ArmSpec {
  name: string
  mode?: Mode
  policy: Policy
  via?: Via
}
/** A comparison: `arm` against `base`, the host with the same cache policy. */
interface Pair {
  arm: string
  base: string
}

const HOSTS: ArmSpec[] = [
  { name: 'host_uncached', policy: 'uncached' },
  { name: 'host_cached', policy: 'cached' },
]

function armSpecs(vias: Via[]): ArmSpec[] {
  const out = [...HOSTS]
  for (const mode of ['observe', 'enforce'] as const)
    for (const policy of ['uncached', 'cached'] as const)
      for (const via of vias) out.push({ name: `${mode}_${policy}_${via}`, mode, policy, via })
  return out
}

interface Ready {
  arms: ArmSpec[]
  ports: Record<string, number>
  token: string
  tree: string
}
interface Figures {
  rps: number
  p50: number
  p99: number
  non2xx: number
  errors: number
}
interface ArmStats {
  requests: number
  emitted: number
  sent: number
  dropped: number
  reduced: number
  queued: number
  /** events the no-op transport was handed (Kafka arms: counted on the topic instead) */
  received?: number
}

const args = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '10' },
    only: { type: 'string' },
    /** comma-separated arm names (the pairs of these arms only), e.g. enforce_uncached_noop */
    pairs: { type: 'string' },
  },
}).values

async function main(): Promise<void> {
  const rounds = Number(args.rounds)
  const seconds = Number(args.seconds)
  const warmup = Number(args.warmup)
  const connections = Number(args.connections)
  const groups = GROUPS.filter((g) => args.only === undefined || args.only === g)
  const brokers = (process.env.AUDTRAIL_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
  const loadStart = loadavg()
  const started = Date.now()

  const wanted = args.pairs?.split(',').filter((s) => s !== '')
  const vias: Via[] = ['kafka', 'noop']
  const probe = armSpecs(vias).filter((a) => a.mode !== undefined)
  const selected = probe.filter((a) => wanted === undefined || wanted.includes(a.name))
  const topicsWanted = groups.flatMap((g) =>
    selected.filter((a) => a.via === 'kafka').map((a) => `${g}-${a.name}`),
  )
  const kafka = topicsWanted.length > 0 ? await kafkaTopics(brokers, topicsWanted) : undefined
  // BENCH_CPU_PROF=DIR: a CPU profile of the server process (node --cpu-prof) into DIR.
  const profile = process.env.BENCH_CPU_PROF
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], {
    execArgv: ['--import', 'tsx', ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [])],
    env: {
      ...process.env,
      BENCH_KAFKA: kafka ? JSON.stringify({ brokers, topics: kafka.topics }) : '',
      BENCH_GROUPS: groups.join(','),
      BENCH_ARMS: [...HOSTS.map((h) => h.name), ...selected.map((a) => a.name)].join(','),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  try {
    const ready = await message<Ready>(child, 'ready')
    const arms = ready.arms
    const transport = kafka ? `kafka (${brokers.join(',')}) and no-op` : 'no-op (Kafka unreachable)'
    console.log(
      `collectors from ${ready.tree}/; transport: ${transport}; ${connections} connections; ${rounds} rounds of ${seconds} s per arm and pair; load average ${loadStart.map((l) => l.toFixed(2)).join(' ')}`,
    )
    const auth = { authorization: `Bearer ${ready.token}` }
    const call = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'hello' } },
    })
    const requests: Record<Group, Request> = {
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
    }
    const pairs: Pair[] = arms
      .filter((a) => a.mode !== undefined)
      .map((a) => ({ arm: a.name, base: `host_${a.policy}` }))
    const summary: Record<string, number | string> = { bench: 'collector-overhead' }
    let non2xx = 0
    let errors = 0
    for (const group of groups) {
      const request = requests[group]
      const url = (arm: string) =>
        `http://127.0.0.1:${ready.ports[`${group}-${arm}`]}${request.path}`
      for (const arm of arms) await load(url(arm.name), request, warmup, connections)
      const results = new Map<string, { ratio: number; p50: number; p99: number }[]>()
      const figures = new Map<string, Figures[]>()
      const keep = (arm: string, f: Figures) => {
        figures.set(arm, [...(figures.get(arm) ?? []), f])
        non2xx += f.non2xx
        errors += f.errors
      }
      for (let r = 0; r < rounds; r++) {
        // Rotated, so no pair always runs first or last in a round.
        const order = pairs.map((_, i) => pairs[(i + r) % pairs.length]!)
        for (const pair of order) {
          const first = r % 2 === 0 ? pair.base : pair.arm
          const second = r % 2 === 0 ? pair.arm : pair.base
          const a = await load(url(first), request, seconds, connections)
          const b = await load(url(second), request, seconds, connections)
          const [base, arm] = r % 2 === 0 ? [a, b] : [b, a]
          keep(pair.base, base)
          keep(pair.arm, arm)
          results.set(pair.arm, [
            ...(results.get(pair.arm) ?? []),
            { ratio: arm.rps / base.rps, p50: arm.p50 - base.p50, p99: arm.p99 - base.p99 },
          ])
        }
      }
      console.log(`\n${group}  (median over ${rounds} rounds, min..max)`)
      for (const host of HOSTS) {
        const f = figures.get(host.name) ?? []
        if (f.length === 0) continue
        const rps = median(f.map((x) => x.rps))
        console.log(
          `  ${host.name.padEnd(24)} ${rps.toFixed(0).padStart(6)} req/s  p50 ${median(f.map((x) => x.p50)).toFixed(3)} ms  p99 ${median(f.map((x) => x.p99)).toFixed(3)} ms`,
        )
        summary[`${group}_${host.name}_rps`] = Math.round(rps)
      }
      for (const pair of pairs) {
        const rs = results.get(pair.arm)!
        const f = figures.get(pair.arm)!
        const ratio = spread(rs.map((x) => x.ratio))
        const p99 = spread(rs.map((x) => x.p99))
        const p50 = spread(rs.map((x) => x.p50))
        console.log(
          `  ${pair.arm.padEnd(24)} ${median(f.map((x) => x.rps))
            .toFixed(0)
            .padStart(
              6,
            )} req/s  ratio ${fmt(ratio, 3)}  p50 added ${fmt(p50, 3)} ms  p99 added ${fmt(p99, 3)} ms  (vs ${pair.base})`,
        )
        const key = keyOf(group, pair.arm)
        summary[`${key}_ratio`] = round(ratio.median, 3)
        summary[`${key}_ratio_min`] = round(ratio.min, 3)
        summary[`${key}_ratio_max`] = round(ratio.max, 3)
        summary[`${key}_p50_added_ms`] = round(p50.median, 3)
        summary[`${key}_p99_added_ms`] = round(p99.median, 3)
      }
      // The headline keys: the worse of the two cache policies, with Kafka when it ran.
      for (const mode of ['observe', 'enforce'] as const) {
        const via = kafka ? 'kafka' : 'noop'
        const keys = (['uncached', 'cached'] as const)
          .map((p) => keyOf(group, `${mode}_${p}_${via}`))
          .filter((k) => summary[`${k}_ratio`] !== undefined)
        if (keys.length === 0) continue
        summary[`${group}_${mode}_ratio`] = Math.min(
          ...keys.map((k) => summary[`${k}_ratio`] as number),
        )
        summary[`${group}_${mode}_p99_added_ms`] = Math.max(
          ...keys.map((k) => summary[`${k}_p99_added_ms`] as number),
        )
      }
    }
    child.send('stop')
    const stats = await message<Record<string, ArmStats>>(child, 'stats')
    const offsets = kafka ? await kafka.received() : {}
    let lost = 0
    let emitted = 0
    let received = 0
    const table: Record<string, string> = {}
    for (const [name, s] of Object.entries(stats)) {
      const got = s.received ?? offsets[name] ?? 0
      // Every request an audtrail arm received is one event, and every event arrives.
      const gap = Math.max(0, s.requests - s.emitted) + Math.max(0, s.emitted - got) + s.dropped
      lost += gap
      emitted += s.emitted
      received += got
      table[name] =
        `${s.requests} requests, ${s.emitted} emitted, ${got} received, ${s.dropped} dropped`
    }
    console.log('\nevents per arm:')
    for (const [name, line] of Object.entries(table)) console.log(`  ${name.padEnd(38)} ${line}`)
    const loadEnd = loadavg()
    Object.assign(summary, {
      transport,
      collectors: ready.tree,
      rounds,
      seconds,
      connections,
      events_emitted: emitted,
      events_received: received,
      events_lost: lost,
      non2xx,
      errors,
      load_avg_start: round(loadStart[0]!, 2),
      load_avg_end: round(loadEnd[0]!, 2),
      duration_s: Math.round((Date.now() - started) / 1000),
    })
    console.log(JSON.stringify(summary))
  } finally {
    // The server exits by itself once it has sent its counts (writing its profile, if asked).
    if (child.exitCode === null)
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 10_000)
        child.once('exit', () => resolve(clearTimeout(timer)))
      })
    child.kill()
    await kafka?.cleanup()
  }
}

/** `fastify_observe_uncached` for the Kafka arm, `fastify_observe_uncached_noop` for the other. */
function keyOf(group: string, arm: string): string {
  return `${group}_${arm.replace(/_kafka$/, '')}`
}

/** Fresh topics (one per Kafka arm) on a reachable broker, or undefined. */
async function kafkaTopics(brokers: string[], arms: string[]) {
  const admin = new Kafka({
    clientId: 'audtrail-bench',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    retry: { retries: 1 },
  }).admin()
  try {
    await admin.connect()
    const run = randomUUID().slice(0, 8)
    const topics = Object.fromEntries(arms.map((a) => [a, `audtrail.bench.${run}.${a}`]))
    await admin.createTopics({
      topics: Object.values(topics).map((topic) => ({ topic, numPartitions: 3 })),
      waitForLeaders: true,
    })
    return {
      topics,
      /** messages on each arm's topic */
      received: async () => {
        const out: Record<string, number> = {}
        for (const [arm, topic] of Object.entries(topics)) {
          const parts = await admin.fetchTopicOffsets(topic)
          out[arm] = parts.reduce((n, p) => n + Number(p.high) - Number(p.low), 0)
        }
        return out
      },
      cleanup: async () => {
        await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => {})
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
  cb: (
    err: Error | null,
    result: { requests: { total: number }; non2xx: number; errors: number },
  ) => void,
) => {
  on(event: 'response', fn: (c: unknown, status: number, b: number, ms: number) => void): void
}
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

interface Request {
  path: string
  method: string
  headers: Record<string, string>
  body: string | undefined
}

function load(url: string, request: Request, seconds: number, connections: number) {
  return new Promise<Figures>((resolve, reject) => {
    const times: number[] = []
    const { path: _path, ...options } = request
    const instance = autocannon(
      { url, connections, duration: seconds, ...options },
      (err, result) => {
        if (err) return reject(err)
        times.sort((a, b) => a - b)
        const at = (q: number) =>
          times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN
        resolve({
          rps: times.length / seconds,
          p50: at(0.5),
          p99: at(0.99),
          non2xx: result.non2xx,
          errors: result.errors,
        })
      },
    )
    instance.on('response', (_c, status, _b, ms) => {
      if (status >= 200 && status < 300) times.push(ms)
    })
  })
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

function spread(xs: number[]) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) }
}

const fmt = (s: { median: number; min: number; max: number }, d: number) =>
  `${s.median.toFixed(d)} (${s.min.toFixed(d)}..${s.max.toFixed(d)})`

const round = (n: number, d: number) => Math.round(n * 10 ** d) / 10 ** d

// ---------------------------------------------------------------------------------------------
// The server process: one server per group and arm on loopback, one token they all accept.

/** Counts the events it is handed, and drops them. */
function noopTransport(): Transport & { received: number } {
  const t = {
    name: 'noop',
    received: 0,
    send: async (batch: readonly unknown[]) => {
      t.received += batch.length
    },
    close: async () => {},
  }
  return t
}

/** The collectors from dist/ when built (and not BENCH_LIB=src), else from src/. */
async function library() {
  const dist = new URL('../dist/collectors/', import.meta.url)
  const useDist = process.env.BENCH_LIB !== 'src' && existsSync(new URL('fastify.js', dist))
  const at = useDist ? dist : new URL('../src/collectors/', import.meta.url)
  const emitter = (await import(new URL('emitter/index.js', at).href)) as typeof Emitters
  const express = (await import(new URL('express.js', at).href)) as typeof Express
  const fastify = (await import(new URL('fastify.js', at).href)) as typeof FastifyPlugin
  return {
    tree: useDist ? 'dist' : 'src',
    createEmitter: emitter.createEmitter,
    audtrailExpress: express.audtrailExpress,
    audtrail: fastify.default,
  }
}

async function serve(): Promise<void> {
  const { createEmitter, audtrailExpress, audtrail, tree } = await library()
  const kafka = process.env.BENCH_KAFKA
    ? (JSON.parse(process.env.BENCH_KAFKA) as { brokers: string[]; topics: Record<string, string> })
    : undefined
  const groups = (process.env.BENCH_GROUPS ?? GROUPS.join(',')).split(',') as Group[]
  const names = new Set((process.env.BENCH_ARMS ?? '').split(','))
  const arms = armSpecs(kafka ? ['kafka', 'noop'] : ['noop']).filter((a) => names.has(a.name))
  const key = await signingKey('bench-1')
  const jwks: JSONWebKeySet = { keys: [key.publicJwk] }
  const token = await mint({ key, expiresIn: 3600 })

  const emitters: Record<string, { emitter: AudtrailEmitter; noop?: { received: number } }> = {}
  const emitterFor = (id: string, via: Via) => {
    const noop = via === 'noop' || kafka?.topics[id] === undefined ? noopTransport() : undefined
    const emitter = createEmitter({
      transport: noop ?? { type: 'kafka', brokers: kafka!.brokers, topic: kafka!.topics[id]! },
      closeOnExit: false,
    })
    emitters[id] = { emitter, noop }
    return emitter
  }
  const collectorOptions = (id: string, arm: ArmSpec) => ({
    resource: RESOURCE,
    issuer: ISSUER,
    jwks,
    mode: arm.mode!,
    emitter: emitterFor(id, arm.via!),
    ...(arm.mode === 'enforce' && arm.policy === 'uncached' ? { cacheSize: 0 } : {}),
  })

  // What the host does without audtrail: the same RFC 9068 checks, on every request or cached.
  const keySet = createLocalJWKSet(jwks)
  const verifyOptions: JWTVerifyOptions = {
    issuer: ISSUER,
    audience: RESOURCE,
    typ: 'at+jwt',
    algorithms: ['ES256', 'RS256'],
    requiredClaims: ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'],
    clockTolerance: 60,
  }
  const hostVerifier = (policy: Policy) => {
    // The cache a host would keep: verified tokens by token, until exp, bounded, LRU.
    const cache = new Map<string, number>()
    return async (header: string | undefined): Promise<boolean> => {
      if (!header?.startsWith('Bearer ')) return false
      const t = header.slice(7)
      const now = Date.now()
      if (policy === 'cached') {
        const until = cache.get(t)
        if (until !== undefined) {
          cache.delete(t)
          if (until > now) {
            cache.set(t, until)
            return true
          }
        }
      }
      try {
        const { payload } = await jwtVerify(t, keySet, verifyOptions)
        if (policy === 'cached') {
          if (cache.size >= 10_000) cache.delete(cache.keys().next().value!)
          cache.set(t, Math.min((payload.exp! + 60) * 1000, now + 600_000))
        }
        return true
      } catch {
        return false
      }
    }
  }

  const ports: Record<string, number> = {}
  const counts: Record<string, { requests: number }> = {}
  const closers: (() => Promise<unknown>)[] = []
  const counted = (id: string, server: Server) => {
    const c = (counts[id] = { requests: 0 })
    server.on('request', () => c.requests++)
  }

  for (const group of groups)
    for (const arm of arms) {
      const id = `${group}-${arm.name}`
      // observe: the host verifies as it would alone; enforce: the collector verifies instead.
      const hostChecks = arm.mode !== 'enforce'
      const verify = hostVerifier(arm.policy)
      if (group === 'fastify') {
        const app: FastifyInstance = Fastify()
        if (arm.mode !== undefined) await app.register(audtrail, collectorOptions(id, arm))
        if (hostChecks)
          app.addHook('onRequest', async (request, reply) => {
            if (!(await verify(request.headers.authorization))) return reply.code(401).send()
          })
        app.get('/items', async () => ({ items: [{ id: 1, name: 'one' }] }))
        await app.listen({ host: '127.0.0.1', port: 0 })
        ports[id] = (app.server.address() as { port: number }).port
        counted(id, app.server)
        closers.push(() => app.close())
      } else {
        const host: RequestHandler = (req, res, next) => {
          void verify(req.headers.authorization).then((ok) => (ok ? next() : res.status(401).end()))
        }
        let middleware: RequestHandler = host
        const seen = (counts[id] = { requests: 0 })
        if (arm.mode !== undefined) {
          const collector = audtrailExpress({
            ...collectorOptions(id, arm),
            protect: '/mcp',
          }) as unknown as RequestHandler
          // Counted where the collector is reached: a client that leaves while express.json()
          // reads the body is answered before it (no event is owed for it).
          middleware = (req, res, next) => {
            seen.requests++
            collector(req, res, (err?: unknown) =>
              err ? next(err) : hostChecks ? host(req, res, next) : next(),
            )
          }
        }
        const server = await listen(mcpApp(middleware))
        ports[id] = Number(new URL(server.url).port)
        closers.push(server.close)
      }
    }

  process.on('message', async (m) => {
    if (m !== 'stop') return
    await Promise.all(closers.map((c) => c()))
    await Promise.all(Object.values(emitters).map((e) => e.emitter.close()))
    const stats: Record<string, ArmStats> = {}
    for (const [id, { emitter, noop }] of Object.entries(emitters)) {
      const s = emitter.stats()
      stats[id] = {
        requests: counts[id]?.requests ?? 0,
        emitted: s.emitted,
        sent: s.sent,
        dropped: s.dropped,
        reduced: s.reduced,
        queued: s.queued,
        ...(noop ? { received: noop.received } : {}),
      }
    }
    process.send?.({ type: 'stats', data: stats }, () => process.exit(0))
  })
  process.send?.({ type: 'ready', data: { arms, ports, token, tree } satisfies Ready })
}

// Last: everything above (constants included) is initialized by now.
if (args.serve) await serve()
else await main()
