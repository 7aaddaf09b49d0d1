/**
 * `audtrail serve` as a child process: the embedded engine allows one data directory per process,
 * and a child is what a user runs too. It gets the embedded default (Kafka, a ClickHouse server,
 * API authentication and console settings of the caller's environment are taken out), the demo's
 * resource registry, scheduled rules every two seconds, and with `auth` API authentication
 * against the demo's authorization server and its console client (docs/console.md).
 */
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'

export interface ServeOptions {
  /** the command that runs the audtrail CLI, e.g. `[process.execPath, 'bin/audtrail.js']` */
  command: readonly string[]
  port: number
  dataDir: string
  registryFile: string
  env: Readonly<Record<string, string | undefined>>
  /** API authentication and console sign-in at the demo's AS; absent: the open loopback API */
  auth?: {
    issuer: string
    jwksUrl: string
    audience: string
    consoleClientId: string
  }
}

export interface ServeProcess {
  url: string
  pid: number | undefined
  /** resolves once serve listens; rejects if it exits first */
  listening: Promise<void>
  /** what serve wrote to stderr lately (its logs), for a failure message */
  output(): string
  /** SIGTERM (SIGKILL after 10 s); resolves with the exit code */
  stop(): Promise<number | null>
}

/** The ingest and API of `audtrail serve`: other settings of the caller's environment stay. */
const TAKEN_OUT = [
  'KAFKA_BROKERS',
  'CLICKHOUSE_URL',
  'CLICKHOUSE_USER',
  'CLICKHOUSE_PASSWORD',
  'CLICKHOUSE_CLUSTER',
  'AUDTRAIL_JWKS_FILE',
  'AUDTRAIL_JWKS_URL',
  'AUDTRAIL_API_ISSUER',
  'AUDTRAIL_API_AUDIENCE',
  'AUDTRAIL_FINGERPRINT_KEY',
  'AUDTRAIL_CONSOLE_CLIENT_ID',
  'AUDTRAIL_CONSOLE_CLIENT_SECRET',
  'AUDTRAIL_PUBLIC_URL',
]

/**
 * Preloaded into serve: once its parent process is gone (its ppid changes) it sends itself SIGTERM,
 * so serve shuts down as on Ctrl-C. Checked every second; the timer never keeps serve alive.
 */
const PARENT_WATCH =
  'data:text/javascript,' +
  encodeURIComponent(
    'const parent = process.ppid; setInterval(() => { if (process.ppid !== parent) ' +
      "process.kill(process.pid, 'SIGTERM') }, 1000).unref()",
  )

/** Listens on `port` at the loopback address and closes again: the port it got, or undefined. */
function probe(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(undefined))
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as { port: number }
      server.close(() => resolve(bound))
    })
  })
}

/** A free loopback port, so the peers know the ingest URL before serve listens. */
export async function freePort(): Promise<number> {
  const port = await probe(0)
  if (port === undefined) throw new Error('no free loopback port')
  return port
}

/** Whether `port` can be listened on at the loopback address right now. */
export async function portAvailable(port: number): Promise<boolean> {
  return (await probe(port)) !== undefined
}

export function startServe(options: ServeOptions): ServeProcess {
  const env: Record<string, string | undefined> = { ...options.env }
  for (const name of TAKEN_OUT) delete env[name]
  Object.assign(env, {
    AUDTRAIL_HOST: '127.0.0.1',
    AUDTRAIL_PORT: String(options.port),
    AUDTRAIL_DATA_DIR: options.dataDir,
    AUDTRAIL_RESOURCES_FILE: options.registryFile,
    AUDTRAIL_DETECT_INTERVAL_S: '2',
    AUDTRAIL_LOG_LEVEL: options.env.AUDTRAIL_LOG_LEVEL ?? 'error',
  })
  if (options.auth)
    Object.assign(env, {
      AUDTRAIL_JWKS_URL: options.auth.jwksUrl,
      AUDTRAIL_API_ISSUER: options.auth.issuer,
      AUDTRAIL_API_AUDIENCE: options.auth.audience,
      AUDTRAIL_CONSOLE_CLIENT_ID: options.auth.consoleClientId,
      // The console's redirect URI is built on it (the one the AS has registered).
      AUDTRAIL_PUBLIC_URL: `http://127.0.0.1:${options.port}`,
    })
  const [bin, ...args] = options.command
  // A Node child also watches its parent: when the demo dies without stopping serve (SIGKILL, a
  // test worker torn down), serve is reparented and stops itself instead of running on.
  const watch = bin === process.execPath ? ['--import', PARENT_WATCH] : []
  const child = spawn(bin!, [...watch, ...args, 'serve'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  const listening = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out = (out + d.toString()).slice(-4096)
      if (/listening on http/.test(out)) resolve()
    })
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4096)))
    child.once('error', reject)
    void exited.then((code) => reject(new Error(`audtrail serve exited with ${code}`)))
  })
  listening.catch(() => {})
  return {
    url: `http://127.0.0.1:${options.port}`,
    pid: child.pid,
    listening,
    output: () => err.trim(),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      const code = await exited
      clearTimeout(timer)
      return code
    },
  }
}
