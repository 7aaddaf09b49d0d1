/** Where the collector's per-request time goes: the core and its stages, without HTTP. */
// Run: npx tsx bench/collector-core.ts [--ms 1500] [--rounds 5]
//      node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/collector-core.ts --only enforce_uncached
//
// One process, no sockets: the collector core (rs/core.ts) handles a fake request and response
// the way the Fastify plugin hands them over, the response head is written (which records the
// event), and the emitter (no-op transport) validates, encodes and queues it. Arms, each timed in
// `--rounds` interleaved rounds of `--ms` and reported as the median microseconds per request:
//
//   host_uncached / host_cached  what the host does alone: jose on every request / a token cache
//   observe / enforce_uncached / enforce_cached   the core, end to end, event emitted
//
// then the stages of the uncached path one by one (token extraction, fingerprint, jose, facts,
// the cache copy, the event, its validation, its JSON, the Kafka key). Microseconds here are CPU
// on one thread: jose's signature check runs on libuv's pool, so it is counted too.
// `--base DIR` (a copy of an earlier tree, e.g. `git archive HEAD~3 | tar -x -C DIR`, with
// node_modules linked) adds the same core arms from that tree (`base:observe`, ...), interleaved
// with this tree's: a before/after of a change in one run.
import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { loadavg } from 'node:os'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { createLocalJWKSet, jwtVerify, type JWTVerifyOptions } from 'jose'
import { createEmitter, type Transport } from '../src/collectors/emitter/index.js'
import { presentedToken } from '../src/collectors/rs/bearer.js'
import { detached } from '../src/collectors/rs/cache.js'
import { factsFromClaims, weighFacts } from '../src/collectors/rs/claims.js'
import { createCore, type Gate } from '../src/collectors/rs/core.js'
import { decodeToken, essentialClaims } from '../src/collectors/rs/decode.js'
import { presentedEvent } from '../src/collectors/rs/event.js'
import { fingerprintToken } from '../src/events/fingerprint.js'
import { parseEvent } from '../src/events/parse.js'
import { tokenKey } from '../src/events/token-key.js'
import { ISSUER, mint, RESOURCE, signingKey } from '../test/collectors/rs/fixtures.js'

const args = parseArgs({
  options: {
    ms: { type: 'string', default: '1500' },
    rounds: { type: 'string', default: '5' },
    only: { type: 'string' },
    stages: { type: 'boolean', default: true },
    base: { type: 'string' },
    /**
     * KiB of the host's own per-request work beside each request (objects allocated and touched,
     * as a real host's handlers do): the collector then runs with cold caches, as in a server;
     * a `host_work` arm times that work alone and every arm is also shown without it.
     */
    thrash: { type: 'string', default: '0' },
  },
}).values

const key = await signingKey('bench-1')
const jwks = { keys: [key.publicJwk] }
const token = await mint({ key, expiresIn: 3600 })
const header = `Bearer ${token}`
let received = 0
const transport: Transport = {
  name: 'noop',
  send: async (batch) => {
    received += batch.length
  },
  close: async () => {},
}
const emitter = createEmitter({ transport, closeOnExit: false })

const keySet = createLocalJWKSet(jwks)
const verifyOptions: JWTVerifyOptions = {
  issuer: ISSUER,
  audience: RESOURCE,
  typ: 'at+jwt',
  algorithms: ['ES256', 'RS256'],
  requiredClaims: ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'],
  clockTolerance: 60,
}
const hostCache = new Map<string, number>()

/** A request and response as Node hands them to a framework, enough for the core. */
function fake(): { raw: IncomingMessage; res: ServerResponse } {
  const raw = {
    method: 'GET',
    url: '/items',
    headers: { authorization: header, host: '127.0.0.1:3000', 'user-agent': 'autocannon' },
    socket: { remoteAddress: '127.0.0.1' },
  } as unknown as IncomingMessage
  const res = new EventEmitter() as unknown as ServerResponse & { headersSent: boolean }
  res.statusCode = 200
  res.headersSent = false
  res.writeHead = function (this: typeof res) {
    this.headersSent = true
    return this
  } as never
  res.getHeader = () => undefined
  return { raw, res }
}

const cores = {
  observe: createCore(
    { resource: RESOURCE, issuer: ISSUER, jwks, mode: 'observe', emitter },
    { kind: 'resource_server' },
  ),
  enforce_uncached: createCore(
    { resource: RESOURCE, issuer: ISSUER, jwks, mode: 'enforce', emitter, cacheSize: 0 },
    { kind: 'resource_server' },
  ),
  enforce_cached: createCore(
    { resource: RESOURCE, issuer: ISSUER, jwks, mode: 'enforce', emitter },
    { kind: 'resource_server' },
  ),
}

type CoreLike = Pick<ReturnType<typeof createCore<IncomingMessage>>, 'handle'>

async function throughCore(core: CoreLike): Promise<void> {
  const { raw, res } = fake()
  let gate: Gate | Promise<Gate> = core.handle({
    req: raw,
    raw,
    res,
    url: raw.url,
    ip: '127.0.0.1',
    body: () => undefined,
  })
  if (gate instanceof Promise) gate = await gate
  if (gate.kind !== 'pass') throw new Error(`refused: ${gate.status}`)
  res.writeHead(200)
}

async function hostVerify(cached: boolean): Promise<void> {
  const t = header.slice(7)
  if (cached) {
    const until = hostCache.get(t)
    if (until !== undefined && until > Date.now()) {
      hostCache.delete(t)
      hostCache.set(t, until)
      return
    }
  }
  const { payload } = await jwtVerify(t, keySet, verifyOptions)
  if (cached) hostCache.set(t, payload.exp! * 1000)
}

const thrashKiB = Number(args.thrash)
let sink = 0
/** The host's own work on a request: `thrashKiB` of short-lived objects written and read. */
function hostWork(): void {
  const n = (thrashKiB * 1024) / 64
  const objects: { a: number; b: string; c: number[] }[] = []
  for (let i = 0; i < n; i++) objects.push({ a: i, b: String(i & 1023), c: [i, i + 1] })
  for (let i = 0; i < n; i += 7) sink += objects[i]!.a + objects[i]!.c[1]!
}

const arms: Record<string, () => Promise<void> | void> = {
  ...(thrashKiB > 0 ? { host_work: () => {} } : {}),
  host_uncached: () => hostVerify(false),
  host_cached: () => hostVerify(true),
  observe: () => throughCore(cores.observe),
  enforce_uncached: () => throughCore(cores.enforce_uncached),
  enforce_cached: () => throughCore(cores.enforce_cached),
}
let baseEmitter: ReturnType<typeof createEmitter> | undefined
if (args.base !== undefined) {
  const dir = resolve(args.base)
  const baseCore = (await import(pathToFileURL(`${dir}/src/collectors/rs/core.ts`).href)) as {
    createCore: typeof createCore
  }
  const baseEmit = (await import(pathToFileURL(`${dir}/src/collectors/emitter/index.ts`).href)) as {
    createEmitter: typeof createEmitter
  }
  baseEmitter = baseEmit.createEmitter({ transport, closeOnExit: false })
  const opts = { resource: RESOURCE, issuer: ISSUER, jwks, emitter: baseEmitter }
  const kind = { kind: 'resource_server' as const }
  const b = {
    observe: baseCore.createCore<IncomingMessage>({ ...opts, mode: 'observe' }, kind),
    enforce_uncached: baseCore.createCore<IncomingMessage>(
      { ...opts, mode: 'enforce', cacheSize: 0 },
      kind,
    ),
    enforce_cached: baseCore.createCore<IncomingMessage>({ ...opts, mode: 'enforce' }, kind),
  }
  for (const [name, core] of Object.entries(b)) arms[`base:${name}`] = () => throughCore(core)
}

/**
 * CPU microseconds (every thread of the process: user and system) per call of `fn` over `ms` of
 * wall time, awaiting only when it returns a promise. CPU rather than wall time: on a shared
 * machine a descheduled process would otherwise count its wait.
 */
async function time(fn: () => Promise<void> | void, ms: number): Promise<number> {
  let n = 0
  const cpu = process.cpuUsage()
  const start = process.hrtime.bigint()
  const end = start + BigInt(Math.round(ms)) * 1_000_000n
  let now = start
  while (now < end) {
    for (let i = 0; i < 64; i++) {
      const r = fn()
      if (r instanceof Promise) await r
      if (thrashKiB > 0) hostWork()
    }
    n += 64
    // Lets the emitter's timer send what is queued (its queue is bounded), as a server would.
    await new Promise((done) => setImmediate(done))
    now = process.hrtime.bigint()
  }
  // Let the emitters' timers run between rounds (their queues are emptied by the no-op transport).
  await emitter.flush()
  await baseEmitter?.flush()
  const used = process.cpuUsage(cpu)
  return (used.user + used.system) / n
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const ms = Number(args.ms)
const rounds = Number(args.rounds)
const only = args.only?.split(',')
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; ${rounds} rounds of ${ms} ms`,
)

const selected = Object.keys(arms).filter(
  (a) => only === undefined || only.includes(a.replace(/^base:/, '')),
)
for (const a of selected) await time(arms[a]!, 200)
const results: Record<string, number[]> = Object.fromEntries(selected.map((a) => [a, []]))
for (let r = 0; r < rounds; r++)
  for (let i = 0; i < selected.length; i++) {
    const a = selected[(i + r) % selected.length]!
    results[a]!.push(await time(arms[a]!, ms))
  }
console.log('\nper request (median CPU us, min..max):')
for (const a of selected) {
  const xs = results[a]!
  console.log(
    `  ${a.padEnd(18)} ${median(xs).toFixed(2).padStart(8)}  (${Math.min(...xs).toFixed(2)}..${Math.max(...xs).toFixed(2)})`,
  )
}
if (results.host_work !== undefined) {
  const w = median(results.host_work)
  console.log(
    `  (the host's own work, ${thrashKiB} KiB per request: ${w.toFixed(2)} us; without it:)`,
  )
  for (const a of selected.filter((x) => x !== 'host_work'))
    console.log(`  ${a.padEnd(18)} ${(median(results[a]!) - w).toFixed(2).padStart(8)}`)
}
const hu = results.host_uncached && median(results.host_uncached)
const hc = results.host_cached && median(results.host_cached)
if (hu !== undefined && results.enforce_uncached)
  console.log(
    `  enforce_uncached - host_uncached: ${(median(results.enforce_uncached) - hu).toFixed(2)} us added`,
  )
if (hc !== undefined && results.enforce_cached)
  console.log(
    `  enforce_cached - host_cached: ${(median(results.enforce_cached) - hc).toFixed(2)} us added`,
  )
for (const a of selected.filter((x) => x.startsWith('base:'))) {
  const now = median(results[a.slice(5)]!)
  const before = median(results[a]!)
  console.log(
    `  ${a.slice(5)}: ${before.toFixed(2)} -> ${now.toFixed(2)} us (${(now / before).toFixed(3)}x)`,
  )
}

if (args.stages && only === undefined) {
  // The stages of one uncached request, each on its own.
  const { payload } = await jwtVerify(token, keySet, verifyOptions)
  const fingerprint = fingerprintToken(token)
  const facts = factsFromClaims(payload, fingerprint)
  const base = {
    tenant: 'default',
    source: { kind: 'resource_server' as const, id: RESOURCE },
    resource: RESOURCE,
    issuer: ISSUER,
    mode: 'enforce' as const,
  }
  const record = () => ({
    occurredAt: new Date().toISOString(),
    facts,
    verified: true,
    decision: 'accepted' as const,
    reason: 'ok' as const,
    audValidated: true,
    method: 'GET',
    path: '/items',
    status: 200,
    mcp: {},
    ip: '127.0.0.1',
    userAgent: 'autocannon',
  })
  const event = presentedEvent(base, record())
  const parsed = parseEvent(structuredClone(event))
  if (!parsed.ok) throw new Error(parsed.reasons.join('; '))
  const stages: Record<string, () => unknown> = {
    'bearer extraction': () => presentedToken(header, 16_384, true),
    'fingerprint (SHA-256)': () => fingerprintToken(token),
    'jose jwtVerify': () => jwtVerify(token, keySet, verifyOptions),
    'decodeJwt (observe miss)': () => decodeToken(token, fingerprint),
    'facts from claims': () => factsFromClaims(payload, fingerprint),
    'cache copy (detached)': () => {
      const kept = detached({ ok: true, facts, claims: essentialClaims(payload)! })
      return weighFacts(kept.facts, kept.claims)
    },
    'event built': () => presentedEvent(base, record()),
    'event validated (parseEvent)': () => parseEvent(presentedEvent(base, record())),
    'event JSON': () => JSON.stringify(parsed.event),
    'Kafka key': () => tokenKey(parsed.event.token),
    'emit (validate + JSON + queue)': () => emitter.emit(presentedEvent(base, record())),
  }
  console.log('\nstages (median CPU us per call):')
  for (const [name, fn] of Object.entries(stages)) {
    const run = async () => {
      const r = fn()
      if (r instanceof Promise) await r
      if (thrashKiB > 0) hostWork()
    }
    await time(run, 100)
    const xs: number[] = []
    for (let r = 0; r < rounds; r++) xs.push(await time(run, Math.max(200, ms / 3)))
    console.log(`  ${name.padEnd(32)} ${median(xs).toFixed(2).padStart(8)}`)
  }
}
await emitter.close()
await baseEmitter?.close()
const s = emitter.stats()
if (sink === -1) console.log(sink)
const bs = baseEmitter?.stats()
const emitted = s.emitted + (bs?.emitted ?? 0)
const dropped = s.dropped + (bs?.dropped ?? 0)
console.log(`\nevents: ${emitted} emitted, ${received} received, ${dropped} dropped`)
