/**
 * The demo from start to end: `audtrail serve` (child process, embedded engine) with API
 * authentication and console sign-in at the demo's authorization server, the peers with their
 * collectors (ingesting with the AS's machine token), the agent's traffic and attacks, then the
 * findings read back through the API.
 * With `once` it returns when printed (0 only if every expected finding appeared); otherwise it
 * keeps everything running until `stop` resolves.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { attacks, benignTraffic, cacheStaleToken, useExpiredToken, type Say } from './agent.js'
import { complianceSummary, complianceUrl, waitForFindings } from './api-client.js'
import { emitHistory } from './history.js'
import { printCompliance, printExpected, printFindings, printUrls } from './output.js'
import { startPeers, type Peers } from './peers.js'
import {
  ATTACKS,
  AUDTRAIL_TENANT,
  CONSOLE,
  EXPECTED_RULES,
  EXPIRY_SKEW_S,
  MACHINE,
  RESOURCE_SERVERS,
} from './scenario.js'
import { freePort, portAvailable, startServe, type ServeProcess } from './serve-process.js'

export interface DemoOptions {
  /** exit after printing instead of serving until `stop` */
  once: boolean
  /** API and ingest port of serve; 0 picks a free one, `preferred` a free one when it is taken */
  port: number | { preferred: number }
  /** data directory of serve; default a fresh temporary one, removed at the end */
  dataDir?: string
  /** the command that runs the audtrail CLI (serve is started through it) */
  command: readonly string[]
  env: Readonly<Record<string, string | undefined>>
  /** resolves on Ctrl-C (SIGINT) or SIGTERM */
  stop: Promise<unknown>
  print: (line: string) => void
  /** how long to wait for the expected findings once the agent is done (default 60 s) */
  findingsTimeoutMs?: number
}

class Interrupted extends Error {}

function registry(): string {
  const entries = Object.entries(RESOURCE_SERVERS).map(([resource, rs]) => ({
    resource,
    kind: rs.kind,
    scopes: rs.scope.split(' '),
  }))
  return `${JSON.stringify(entries, null, 2)}\n`
}

async function choosePort(port: DemoOptions['port'], print: DemoOptions['print']): Promise<number> {
  if (port === 0) return freePort()
  if (typeof port === 'number') return port
  if (await portAvailable(port.preferred)) return port.preferred
  const free = await freePort()
  print(`audtrail demo: port ${port.preferred} is taken, using ${free} (--port P to choose)`)
  return free
}

export async function runDemo(o: DemoOptions): Promise<number> {
  const startedAt = Date.now()
  const { print } = o
  let stopped = false
  void o.stop.then(() => (stopped = true))
  const wait = async (ms: number) => {
    await Promise.race([new Promise((r) => setTimeout(r, ms).unref()), o.stop])
    if (stopped) throw new Interrupted()
  }
  const dataDir =
    o.dataDir === undefined ? mkdtempSync(join(tmpdir(), 'audtrail-demo-')) : resolve(o.dataDir)
  mkdirSync(dataDir, { recursive: true })
  const registryFile = join(dataDir, 'demo-resources.json')
  writeFileSync(registryFile, registry())

  let serve: ServeProcess | undefined
  let peers: Peers | undefined
  try {
    const port = await choosePort(o.port, print)
    const url = `http://127.0.0.1:${port}`
    // The audtrail API is a resource of the demo's AS too: its audience is serve's URL.
    const audience = url
    peers = await startPeers(`${url}/v1/ingest`, {
      console: {
        clientId: CONSOLE.clientId,
        redirectUris: [`${url}/auth/callback`],
        audience,
        tenant: AUDTRAIL_TENANT,
        roles: [...CONSOLE.roles],
        login: { username: CONSOLE.username, password: CONSOLE.password },
      },
      machine: {
        clientId: MACHINE.clientId,
        secret: MACHINE.secret,
        audience,
        tenant: AUDTRAIL_TENANT,
        roles: [...MACHINE.roles],
        ttlS: MACHINE.ttlS,
      },
    })
    const token = peers.apiToken
    serve = startServe({
      command: o.command,
      port,
      dataDir,
      registryFile,
      env: o.env,
      auth: {
        issuer: peers.as.issuer,
        jwksUrl: peers.as.jwksUri,
        audience,
        consoleClientId: CONSOLE.clientId,
      },
    })
    print(
      `audtrail demo: starting audtrail serve on ${serve.url} (embedded ClickHouse in ${dataDir}; API authentication at the demo's authorization server)`,
    )
    const stale = await cacheStaleToken(peers)
    const history = emitHistory(peers.history, peers.as.issuer)
    await Promise.race([
      serve.listening,
      wait(120_000).then(() =>
        Promise.reject(new Error('audtrail serve did not start within 120 s')),
      ),
    ])
    print('peers (loopback, each with its audtrail collector posting to /v1/ingest):')
    printUrls(print, {
      'authorization server': `${peers.as.issuer}  node-oidc-provider, resource indicators, JWT access tokens`,
      'MCP server A': `${peers.mcpA.url}/mcp  enforce, Express collector`,
      'MCP server B': `${peers.mcpB.url}/mcp  observe; its host accepts any audience and expired tokens`,
      API: `${peers.api.url}/items  enforce, Fastify collector`,
    })
    print(
      `history: ${history.events} tool calls of the agent at MCP server A emitted with backdated occurred_at (${history.from} to ${history.to}): the baseline token-usage-spike scores against`,
    )
    print('agent (MCP SDK client):')
    const say: Say = (step, result) => print(`  ${step.padEnd(58, '.')} ${result}`)
    const tokenA = await benignTraffic(peers, say)
    await attacks(peers, tokenA, say)
    const due = stale.expiresAt + EXPIRY_SKEW_S + 2 - Date.now() / 1000
    if (due > 1)
      print(
        `  (waiting ${Math.ceil(due)} s for the cached MCP server B token to be 60 s past its exp)`,
      )
    await useExpiredToken(peers, stale, say, wait)
    await peers.flush()

    print('waiting for the findings (streaming rules at ingest, scheduled rules every 2 s) ...')
    const since = new Date(startedAt - 5000)
    const deadline = Date.now() + (o.findingsTimeoutMs ?? 60_000)
    const findings = await waitForFindings(serve.url, since, EXPECTED_RULES, deadline, wait, token)
    const stats = peers.stats()
    print('')
    printFindings(print, findings)
    print('')
    const missing = printExpected(print, ATTACKS, findings)
    print('')
    printCompliance(print, await complianceSummary(serve.url, since, token))
    print('')
    print('open:')
    printUrls(print, {
      'analyst console': `${serve.url}/  sign in at the authorization server as ${CONSOLE.username} / password ${CONSOLE.password}`,
      compliance: `${serve.url}/compliance?framework=all`,
      'resource inventory': `${serve.url}/resources`,
      'API docs': `${serve.url}/docs`,
    })
    print(
      `API (bearer token): client credentials at ${peers.as.issuer}/token, client_id=${MACHINE.clientId} client_secret=${MACHINE.secret} resource=${audience}, e.g.`,
    )
    print(
      `  curl -H "Authorization: Bearer $(curl -s -d grant_type=client_credentials -d client_id=${MACHINE.clientId} -d client_secret=${MACHINE.secret} -d resource=${audience} ${peers.as.issuer}/token | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')" '${complianceUrl(serve.url, 'html', since)}'`,
    )
    print('')
    print(
      `events: ${stats.sent} sent by the collectors and the history emitter, ${stats.dropped} dropped; ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
    )
    const code = missing === 0 ? 0 : 1
    if (missing > 0) print(`${missing} expected finding(s) did not appear`)
    if (o.once) return code
    print('serving until Ctrl-C ...')
    await o.stop
    return code
  } catch (err) {
    if (err instanceof Interrupted) return 130
    const output = serve?.output()
    if (output) print(`audtrail serve said:\n${output}`)
    throw err
  } finally {
    await peers?.close()
    await serve?.stop()
    if (o.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true })
  }
}
