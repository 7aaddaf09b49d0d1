/** The collector's own time inside a real host (the MCP SDK server behind Express), per request. */
// Run: node --import tsx bench/collector-in-host.ts [--seconds 2 --rounds 3 --connections 10]
//      [--base DIR]   (DIR: an earlier tree with src/, e.g. `git archive main src | tar -x -C DIR`)
//
// bench/collector-core.ts times the collector in a loop, where its code and data stay in the CPU
// caches; inside a host whose own request allocates and touches hundreds of KiB (the MCP SDK's
// stateless server builds an McpServer and an Ajv instance per request) it costs several times
// more. This bench measures it there: one server process (a child, loaded by autocannon from
// this one) with the MCP app of test/collectors/rs/mcp-peer.ts three times, without the collector,
// with this tree's collector (observe mode, cached token, no-op transport) and, with --base, the
// other tree's. Per arm it prints the server's CPU per request and, from clocks inside the
// server, two parts of the collector's time: its middleware from entry to its synchronous
// `next()` (`handle`: protect, token, fingerprint, decoded-token cache, response tracking) and
// the event's recording inside `writeHead` (`record`: event built, screened, encoded, queued).
// Wall-clock microseconds (p50, p90): on a loaded machine a descheduled request counts its wait,
// so compare arms of one run. Arms alternate every round.
import { fork } from 'node:child_process'
import { ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import { loadavg } from 'node:os'
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { RequestHandler } from 'express'

const args = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    base: { type: 'string' },
  },
}).values

interface ArmTimes {
  handle: number[]
  record: number[]
}

async function serve(): Promise<void> {
  const { listen, mcpApp } = await import('../test/collectors/rs/mcp-peer.js')
  const { ISSUER, mint, RESOURCE, signingKey } = await import('../test/collectors/rs/fixtures.js')
  const key = await signingKey('bench-1')
  const token = await mint({ key, expiresIn: 3600 })
  const trees: Record<string, URL> = { collector: new URL('../src/collectors/', import.meta.url) }
  if (args.base !== undefined)
    trees.base = new URL('src/collectors/', pathToFileURL(`${resolve(args.base)}/`))
  const ports: Record<string, number> = {}
  const times: Record<string, ArmTimes> = {}
  const noop = { name: 'noop', send: async () => {}, close: async () => {} }

  const none = await listen(mcpApp(undefined))
  ports.none = Number(new URL(none.url).port)
  for (const [arm, at] of Object.entries(trees)) {
    const { audtrailExpress } = (await import(new URL('express.js', at).href)) as {
      audtrailExpress: (o: object) => RequestHandler
    }
    const { createEmitter } = (await import(new URL('emitter/index.js', at).href)) as {
      createEmitter: (o: object) => unknown
    }
    const collector = audtrailExpress({
      resource: RESOURCE,
      issuer: ISSUER,
      jwks: { keys: [key.publicJwk] },
      mode: 'observe',
      protect: '/mcp',
      emitter: createEmitter({ transport: noop, closeOnExit: false }),
    })
    const t: ArmTimes = (times[arm] = { handle: [], record: [] })
    const timed: RequestHandler = (req, res, next) => {
      const start = process.hrtime.bigint()
      let entered = false
      collector(req, res, (err?: unknown) => {
        if (!entered) {
          entered = true
          t.handle.push(Number(process.hrtime.bigint() - start) / 1000)
          // The collector's wrapper is the response's own writeHead now: time it, minus Node's.
          timeWriteHead(res, t.record)
        }
        next(err)
      })
    }
    const server = await listen(mcpApp(timed))
    ports[arm] = Number(new URL(server.url).port)
  }
  process.on('message', (m) => {
    if (m === 'cpu') {
      const u = process.cpuUsage()
      process.send?.({ type: 'cpu', cpu: u.user + u.system })
    } else if (m === 'times') {
      process.send?.({ type: 'times', times }, () => process.exit(0))
    }
  })
  process.send?.({ type: 'ready', ports, token })
}

/** Node's own writeHead, timed, so it can be taken out of the collector's wrapper's time. */
let nodeWriteHeadUs = 0
const nodeWriteHead = ServerResponse.prototype.writeHead
ServerResponse.prototype.writeHead = function (this: ServerResponse, ...a: unknown[]) {
  const start = process.hrtime.bigint()
  const r = (nodeWriteHead as (...x: unknown[]) => ServerResponse).apply(this, a)
  nodeWriteHeadUs = Number(process.hrtime.bigint() - start) / 1000
  return r
} as typeof nodeWriteHead

/** The time of the collector's part of writeHead (recording the event): its wrapper, less Node's. */
function timeWriteHead(res: ServerResponse, into: number[]): void {
  const wrapper = res.writeHead
  res.writeHead = function (this: ServerResponse, ...a: unknown[]) {
    const start = process.hrtime.bigint()
    nodeWriteHeadUs = 0
    const r = (wrapper as (...x: unknown[]) => ServerResponse).apply(this, a)
    into.push(Number(process.hrtime.bigint() - start) / 1000 - nodeWriteHeadUs)
    return r
  } as typeof res.writeHead
}

type Autocannon = (
  opts: Record<string, unknown>,
  cb: (err: Error | null, r: { requests: { total: number } }) => void,
) => unknown

async function main(): Promise<void> {
  const seconds = Number(args.seconds)
  const rounds = Number(args.rounds)
  const connections = Number(args.connections)
  const child = fork(
    fileURLToPath(import.meta.url),
    ['--serve', ...(args.base ? ['--base', args.base] : [])],
    { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  )
  const ask = <T>(type: string, send?: string) =>
    new Promise<T>((done) => {
      const on = (m: { type?: string }) => {
        if (m?.type !== type) return
        child.off('message', on)
        done(m as T)
      }
      child.on('message', on)
      if (send !== undefined) child.send(send)
    })
  const ready = await ask<{ ports: Record<string, number>; token: string }>('ready')
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: 'echo', arguments: { text: 'hello' } },
  })
  const load = (port: number, duration: number) =>
    new Promise<number>((done, fail) =>
      autocannon(
        {
          url: `http://127.0.0.1:${port}/mcp`,
          method: 'POST',
          body,
          connections,
          duration,
          headers: {
            authorization: `Bearer ${ready.token}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
          },
        },
        (err, r) => (err ? fail(err) : done(r.requests.total)),
      ),
    )
  const arms = Object.keys(ready.ports)
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; ${rounds} rounds of ${seconds} s per arm; ${connections} connections`,
  )
  for (const arm of arms) await load(ready.ports[arm]!, 1)
  const cpu: Record<string, number[]> = {}
  for (let r = 0; r < rounds; r++)
    for (const arm of r % 2 === 0 ? arms : [...arms].reverse()) {
      const before = (await ask<{ cpu: number }>('cpu', 'cpu')).cpu
      const n = await load(ready.ports[arm]!, seconds)
      const after = (await ask<{ cpu: number }>('cpu', 'cpu')).cpu
      ;(cpu[arm] ??= []).push((after - before) / n)
    }
  const { times } = await ask<{ times: Record<string, ArmTimes> }>('times', 'times')
  const q = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b)
    return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN
  }
  const summary: Record<string, number | string> = { bench: 'collector-in-host' }
  for (const arm of arms) {
    const c = q(cpu[arm]!, 0.5)
    summary[`${arm}_cpu_us`] = Math.round(c * 10) / 10
    let line = `  ${arm.padEnd(10)} server CPU ${c.toFixed(0)} us per request`
    const t = times[arm]
    if (t !== undefined) {
      for (const part of ['handle', 'record'] as const) {
        const xs = t[part]
        summary[`${arm}_${part}_p50_us`] = Math.round(q(xs, 0.5) * 10) / 10
        line += `; ${part} p50 ${q(xs, 0.5).toFixed(1)} p90 ${q(xs, 0.9).toFixed(1)} us (n ${xs.length})`
      }
    }
    console.log(line)
  }
  summary.load_avg_end = Math.round(loadavg()[0]! * 100) / 100
  console.log(JSON.stringify(summary))
}

if (args.serve) await serve()
else await main()
