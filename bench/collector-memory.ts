/** Collector memory under hostile tokens: what the token caches hold, in both modes, against their bound. */
// Run: npm run bench:collector-memory [-- --tokens 20000 --kib 16]
// Each arm runs in a fresh Node process (with --expose-gc) holding one Fastify server behind the
// collector on 127.0.0.1, and sends it `--tokens` distinct tokens of about `--kib` KiB over HTTP
// (keep-alive), each once, then measures the heap after full collections against the heap before
// the first request. (Fastify's `inject` is not used: it retains about 16 KB a request itself.)
// The tokens are built to cost the most heap once decoded: a payload of thousands of tiny
// array items and keys (an earlier build kept each decoded payload: ~246 KB of heap for a 16 KB
// token). Arms:
//   observe          observe mode (unverified tokens decoded and cached), the default bounds
//   observe-long-scope, observe-long-iss  the same with one long claim of which a piece is kept
//   observe-nocache  the same with cacheSize 0: what the server itself retains, for comparison
//   enforce          enforce mode, tokens validly signed by the trusted key (the only ones it caches)
//   enforce-nocache  the same with cacheSize 0
// Printed per arm: heap growth, the cache's own weight estimate and entries, and the bound.
import { fork } from 'node:child_process'
import { Agent, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import Fastify from 'fastify'
import audtrail from '../src/collectors/fastify.js'
import { DEFAULT_CACHE_BYTES } from '../src/collectors/rs/cache.js'
import { ISSUER, mint, RESOURCE, signingKey, unsecured } from '../test/collectors/rs/fixtures.js'

const ARMS = [
  'observe',
  'observe-long-scope',
  'observe-long-iss',
  'observe-nocache',
  'enforce',
  'enforce-nocache',
] as const
type Arm = (typeof ARMS)[number]
interface Figures {
  arm: Arm
  tokens: number
  heapGrowthMiB: number
  perTokenBytes: number
  events: number
}

const args = parseArgs({
  options: {
    arm: { type: 'string' },
    tokens: { type: 'string', default: '20000' },
    kib: { type: 'string', default: '16' },
  },
}).values

/**
 * A payload of about `kib` KiB built to cost the most heap once decoded: by default thousands of
 * tiny items; `long-scope` and `long-iss` one long claim of which the event keeps a cut piece (a
 * piece of a string can keep the whole string alive in V8, unless copied).
 */
function hostileClaims(i: number, kib: number, shape = 'items'): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  const pad = 'x'.repeat(Math.floor(kib * 1024 * 0.7))
  if (shape === 'long-scope' || shape === 'long-iss')
    return {
      // 8 192 characters: the longest `iss` a cache entry keeps beside the facts.
      iss: shape === 'long-iss' ? `https://${'x'.repeat(8184)}` : ISSUER,
      aud: RESOURCE,
      sub: `user-${i}`,
      client_id: 'agent-1',
      jti: `jti-${i}`,
      exp: now + 3600,
      scope: shape === 'long-scope' ? `scope-${String(i).padStart(8, '0')} ${pad}` : 'read',
    }
  const items = Math.floor((kib * 1024 * 0.75) / 8)
  return {
    iss: ISSUER,
    aud: [RESOURCE, ...Array.from({ length: items / 2 }, (_, k) => `a${k}`)],
    sub: `user-${i}`,
    client_id: 'agent-1',
    jti: `jti-${i}`,
    iat: now,
    exp: now + 3600,
    scope: Array.from({ length: items / 4 }, (_, k) => `s${k}`).join(' '),
    x: Array.from({ length: items / 4 }, (_, k) => k),
  }
}

async function runArm(arm: Arm, count: number, kib: number): Promise<Figures> {
  const gc = (globalThis as { gc?: () => void }).gc!
  const key = await signingKey('k1')
  const enforce = arm.startsWith('enforce')
  const events = { n: 0 }
  const app = Fastify()
  await app.register(audtrail, {
    resource: RESOURCE,
    issuer: ISSUER,
    jwks: { keys: [key.publicJwk] },
    mode: enforce ? 'enforce' : 'observe',
    requiredClaims: ['iss', 'exp', 'aud'],
    emitter: {
      emit: () => void (events.n += 1),
      flush: async () => {},
      close: async () => {},
      stats: () => ({
        emitted: 0,
        sent: 0,
        spooled: 0,
        replayed: 0,
        dropped: 0,
        failures: 0,
        queued: 0,
      }),
    },
    ...(arm.endsWith('nocache') && { cacheSize: 0 }),
  })
  app.get('/items', async () => ({ ok: true }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const agent = new Agent({ keepAlive: true, maxSockets: 4 })
  const get = (token?: string) =>
    new Promise<void>((resolve, reject) => {
      const headers = token === undefined ? {} : { authorization: `Bearer ${token}` }
      const req = request({ host: '127.0.0.1', port, path: '/items', headers, agent }, (res) => {
        res.resume()
        res.on('end', resolve)
      })
      req.on('error', reject)
      req.end()
    })
  // Tokens are made in batches and dropped after use, so only what the server keeps remains.
  const batch = 500
  await get()
  for (let i = 0; i < 5; i++) gc()
  const before = process.memoryUsage().heapUsed
  for (let start = 0; start < count; start += batch) {
    const tokens: string[] = []
    for (let i = start; i < Math.min(count, start + batch); i++)
      tokens.push(
        enforce
          ? await mint({ key, claims: hostileClaims(i, kib) })
          : unsecured(hostileClaims(i, kib, arm.replace(/^observe-?/, '') || 'items')),
      )
    for (let i = 0; i < tokens.length; i += 4) await Promise.all(tokens.slice(i, i + 4).map(get))
  }
  for (let i = 0; i < 5; i++) gc()
  const after = process.memoryUsage().heapUsed
  agent.destroy()
  await app.close()
  return {
    arm,
    tokens: count,
    heapGrowthMiB: (after - before) / 2 ** 20,
    perTokenBytes: (after - before) / count,
    events: events.n,
  }
}

async function main(): Promise<void> {
  const count = Number(args.tokens)
  const kib = Number(args.kib)
  const sample = unsecured(hostileClaims(0, kib))
  console.log(
    `${count} distinct tokens of ${(sample.length / 1024).toFixed(1)} KiB each, one request each; ` +
      `cache bound: 10 000 entries and ${DEFAULT_CACHE_BYTES / 2 ** 20} MiB (default)`,
  )
  const results: Figures[] = []
  for (const arm of ARMS) {
    const child = fork(
      fileURLToPath(import.meta.url),
      ['--arm', arm, '--tokens', `${count}`, '--kib', `${kib}`],
      {
        execArgv: ['--expose-gc', '--max-http-header-size=65536', '--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    )
    const figures = await new Promise<Figures>((resolve, reject) => {
      child.once('message', (m) => resolve(m as Figures))
      child.once('exit', (code) => reject(new Error(`arm ${arm} exited with ${code}`)))
    })
    results.push(figures)
    console.log(
      `${arm.padEnd(19)} heap growth ${figures.heapGrowthMiB.toFixed(1).padStart(7)} MiB ` +
        `(${Math.round(figures.perTokenBytes)} B/token), ${figures.events} events`,
    )
  }
  const by = Object.fromEntries(results.map((r) => [r.arm, r]))
  const cost = (arm: Arm, base: Arm) => by[arm]!.heapGrowthMiB - by[base]!.heapGrowthMiB
  const observe = Math.max(
    ...(['observe', 'observe-long-scope', 'observe-long-iss'] as const).map((a) =>
      cost(a, 'observe-nocache'),
    ),
  )
  const enforce = cost('enforce', 'enforce-nocache')
  const bound = DEFAULT_CACHE_BYTES / 2 ** 20
  const summary = {
    bench: 'collector-memory',
    tokens: count,
    token_kib: Number((sample.length / 1024).toFixed(1)),
    bound_mib: bound,
    observe_cache_mib: Number(observe.toFixed(1)),
    enforce_cache_mib: Number(enforce.toFixed(1)),
    observe_within_bound: observe <= bound,
    enforce_within_bound: enforce <= bound,
  }
  console.log(
    `cache cost (arm minus its nocache arm; observe: the worst token shape): observe ` +
      `${summary.observe_cache_mib} MiB, enforce ${summary.enforce_cache_mib} MiB, bound ${bound} MiB`,
  )
  console.log(JSON.stringify(summary))
}

if (args.arm !== undefined) {
  const figures = await runArm(args.arm as Arm, Number(args.tokens), Number(args.kib))
  process.send!(figures)
  process.disconnect()
} else {
  await main()
}
