/** A throwaway single-node Kafka (own ports, own data dir) that a test may stop and restart. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Kafka, logLevel } from 'kafkajs'
import { KAFKA_VERSION } from '../../scripts/kafka.mjs'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const LIBS = path.join(ROOT, '.cache', 'kafka', KAFKA_VERSION, 'libs')
const TEMPLATES = path.join(ROOT, 'scripts', 'kafka')
const JAVA = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java'
const LOG4J = `-Dlog4j2.configurationFile=${path.join(TEMPLATES, 'log4j2.yaml')}`

/**
 * Uses the jars that `node scripts/kafka.mjs fetch|start` put in `.cache/kafka/<version>/libs`
 * and the project's `server.properties` template, but its own ports and a temporary data dir, so
 * the shared broker on 9092 is never touched. Stopping it is a plain SIGTERM to its own JVM.
 */
export class PrivateKafka {
  readonly brokers: string
  readonly #home: string
  readonly #props: string
  #child: ChildProcess | undefined
  #exited: Promise<void> | undefined

  private constructor(home: string, port: number) {
    this.#home = home
    this.#props = path.join(home, 'server.properties')
    this.brokers = `127.0.0.1:${port}`
  }

  static async create(): Promise<PrivateKafka> {
    if (!existsSync(LIBS))
      throw new Error(`Kafka jars missing in ${LIBS}: run \`node scripts/kafka.mjs fetch\` first`)
    const home = mkdtempSync(path.join(tmpdir(), 'audtrail-kafka-'))
    const [port, controllerPort] = [await freePort(), await freePort()]
    const values: Record<string, string> = {
      port: String(port),
      controllerPort: String(controllerPort),
      logDir: path.join(home, 'data'),
    }
    const template = readFileSync(path.join(TEMPLATES, 'server.properties'), 'utf8')
    const kafka = new PrivateKafka(home, port)
    writeFileSync(
      kafka.#props,
      template.replace(/\{\{(\w+)\}\}/g, (m, k: string) => values[k] ?? m),
    )
    const format = spawnSync(
      JAVA,
      [
        '-cp',
        path.join(LIBS, '*'),
        LOG4J,
        '-Daudtrail.kafka.logLevel=WARN',
        'kafka.tools.StorageTool',
        'format',
        '--cluster-id',
        clusterId(),
        '--config',
        kafka.#props,
        '--standalone',
      ],
      { encoding: 'utf8' },
    )
    if (format.status !== 0)
      throw new Error(`kafka storage format failed: ${format.stderr}${format.stdout}`)
    return kafka
  }

  /** Starts the broker and resolves once it answers. */
  async start(): Promise<void> {
    const log = openSync(path.join(this.#home, 'kafka.log'), 'a')
    const child = spawn(
      JAVA,
      [
        '-Xms128m',
        '-Xmx512m',
        '-XX:+UseG1GC',
        '-Djava.awt.headless=true',
        LOG4J,
        '-cp',
        path.join(LIBS, '*'),
        'kafka.Kafka',
        this.#props,
      ],
      { stdio: ['ignore', log, log] },
    )
    closeSync(log)
    this.#child = child
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()))
    process.once('exit', () => child.kill('SIGKILL'))
    for (let i = 0; i < 600; i++) {
      if (child.exitCode !== null)
        throw new Error(`kafka exited early; see ${this.#home}/kafka.log`)
      if (await answers(this.brokers)) return
      await new Promise((r) => setTimeout(r, 200))
    }
    throw new Error(`kafka did not answer on ${this.brokers}`)
  }

  /** Stops the broker (SIGTERM, SIGKILL after 20 s) and resolves once its process is gone. */
  async stop(): Promise<void> {
    const child = this.#child
    if (child === undefined || child.exitCode !== null) return
    child.kill('SIGTERM')
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    await this.#exited
    clearTimeout(killer)
  }

  async destroy(): Promise<void> {
    await this.stop()
    rmSync(this.#home, { recursive: true, force: true })
  }
}

async function answers(brokers: string): Promise<boolean> {
  const admin = new Kafka({
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    retry: { retries: 0 },
  }).admin()
  try {
    await admin.connect()
    await admin.describeCluster()
    return true
  } catch {
    return false
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}
