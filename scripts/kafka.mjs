/** Local single-node Apache Kafka (KRaft) from Maven Central: `node scripts/kafka.mjs fetch|start|stop|status`. */

// Version choice: Kafka 4.3.1, the newest release whose artifacts are all on Maven Central.
// 4.4.0 is listed in kafka_2.13's maven-metadata.xml but its runtime dependency
// org.apache.kafka:kafka-tools-api:4.4.0 is not published there, so it cannot be resolved.
// kafkajs 2.2.4 was verified against 4.3.1: admin createTopics/describeCluster/fetchOffsets,
// idempotent producer with acks -1, a consumer group with eachBatch + manual commitOffsets, and a
// transactional producer. kafkajs only uses protocol versions that 4.x still supports (KIP-896).
// Kafka 4.x needs Java 17+ and logs through log4j2 (scripts/kafka/log4j2.yaml).
//
// Layout (all under .cache/ at the repo root, git-ignored):
//   .cache/m2                      Maven local repository used for the fetch
//   .cache/kafka/<version>/libs    runtime jars (class path of the broker), fetched.json marker
//   .cache/kafka/data              KRaft storage (log.dirs), reformatted on version/port change
//   .cache/kafka/state.json        cluster id, version and ports the storage was formatted with
//   .cache/kafka/server.properties rendered from scripts/kafka/server.properties
//   .cache/kafka/kafka.log         broker stdout/stderr (truncated on every start)
//   .cache/kafka/kafka.pid         pid of the broker this script started
//
// Environment: AUDTRAIL_KAFKA_PORT (default 9092; the controller listens on port + 1),
// JAVA_HOME (java from $JAVA_HOME/bin, else PATH), MVN (Maven executable, default `mvn`).

import { spawn, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const KAFKA_VERSION = '4.3.1'
const MIN_JAVA = 17
const START_TIMEOUT_MS = 90_000
const STOP_TIMEOUT_MS = 30_000
const PROBE_TIMEOUT_MS = 3_000
const JVM_HEAP = ['-Xms256m', '-Xmx768m']

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TEMPLATE_DIR = path.join(ROOT, 'scripts', 'kafka')
const POM = path.join(TEMPLATE_DIR, 'pom.xml')
const M2_REPO = path.join(ROOT, '.cache', 'm2')
const HOME = path.join(ROOT, '.cache', 'kafka')
const DIST = path.join(HOME, KAFKA_VERSION)
const LIBS = path.join(DIST, 'libs')
const FETCH_MARKER = path.join(DIST, 'fetched.json')
// A broker on another port (AUDTRAIL_KAFKA_PORT, read when this module loads) keeps its storage,
// pid and log apart, so tests can run and restart their own broker beside the shared one.
const INSTANCE_PORT = Number(process.env.AUDTRAIL_KAFKA_PORT || 9092)
const INSTANCE = INSTANCE_PORT === 9092 ? HOME : path.join(HOME, 'instances', String(INSTANCE_PORT))
const DATA_DIR = path.join(INSTANCE, 'data')
const STATE_FILE = path.join(INSTANCE, 'state.json')
const PROPS_FILE = path.join(INSTANCE, 'server.properties')
const LOG_FILE = path.join(INSTANCE, 'kafka.log')
const PID_FILE = path.join(INSTANCE, 'kafka.pid')
const LOCK_FILE = path.join(INSTANCE, 'start.lock')

/** An expected failure: the CLI prints only the message, never a stack trace. */
export class KafkaScriptError extends Error {
  name = 'KafkaScriptError'
}

function ports() {
  const raw = process.env.AUDTRAIL_KAFKA_PORT
  const port = raw ? Number(raw) : 9092
  if (!Number.isInteger(port) || port < 1 || port > 65534) {
    throw new KafkaScriptError(`AUDTRAIL_KAFKA_PORT must be a port number, got '${raw}'`)
  }
  return { port, controllerPort: port + 1, brokers: `127.0.0.1:${port}` }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const rel = (p) => path.relative(process.cwd(), p) || '.'

// ---------------------------------------------------------------------------------------------
// kafkajs probing

let kafkajs
async function loadKafkajs() {
  if (!kafkajs) {
    try {
      const mod = await import('kafkajs')
      kafkajs = mod.default ?? mod
    } catch {
      throw new KafkaScriptError('kafkajs is not installed; run `npm ci` first')
    }
  }
  return kafkajs
}

function withTimeout(promise, ms, what) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Resolves to the cluster description when a Kafka broker answers on `brokers`, else null. */
async function probe(brokers, timeoutMs = PROBE_TIMEOUT_MS) {
  const { Kafka, logLevel } = await loadKafkajs()
  const kafka = new Kafka({
    clientId: 'audtrail-kafka-script',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    authenticationTimeout: 1_000,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  })
  const admin = kafka.admin()
  try {
    return await withTimeout(
      admin.connect().then(() => admin.describeCluster()),
      timeoutMs,
      'probe',
    )
  } catch {
    return null
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

/**
 * Creates __consumer_offsets and the producer-id block now, so the first test does not see
 * (retriable, but noisy) COORDINATOR_NOT_AVAILABLE / COORDINATOR_LOAD_IN_PROGRESS errors.
 */
async function warmUp(brokers) {
  const { Kafka, logLevel, Partitioners } = await loadKafkajs()
  const kafka = new Kafka({
    clientId: 'audtrail-kafka-warmup',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 2_000 },
  })
  const admin = kafka.admin()
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  })
  try {
    await admin.connect()
    await admin.describeGroups(['audtrail-kafka-warmup'])
    await producer.connect()
  } finally {
    await producer.disconnect().catch(() => {})
    await admin.disconnect().catch(() => {})
  }
}

function portInUse(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    const done = (inUse) => {
      socket.destroy()
      resolve(inUse)
    }
    socket.setTimeout(1_000, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

// ---------------------------------------------------------------------------------------------
// processes

function isAlive(pid) {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return err.code === 'EPERM'
  }
  try {
    // A zombie (exited, not yet reaped) still accepts signal 0.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return true
  }
}

function commandLine(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
  } catch {
    const ps = spawnSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' })
    return ps.status === 0 ? ps.stdout.trim() : ''
  }
}

/** The pid from the pid file if that process is alive and is the broker this checkout started. */
function ourPid() {
  let pid
  try {
    pid = Number(fs.readFileSync(PID_FILE, 'utf8').trim())
  } catch {
    return null
  }
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    const cmd = commandLine(pid)
    if (cmd.includes('kafka.Kafka') && cmd.includes(PROPS_FILE)) return pid
  }
  fs.rmSync(PID_FILE, { force: true }) // stale: that process is gone or is something else now
  return null
}

function logTail(lines = 40) {
  try {
    const text = fs.readFileSync(LOG_FILE, 'utf8').trimEnd().split('\n')
    return text.slice(-lines).join('\n')
  } catch {
    return '(no log file)'
  }
}

function run(cmd, args, what, options = {}) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options })
  if (res.error?.code === 'ENOENT') return { missing: true }
  if (res.error) throw new KafkaScriptError(`${what} failed: ${res.error.message}`)
  return res
}

function javaBin() {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java'
}

function checkJava() {
  const java = javaBin()
  const res = run(java, ['-version'], 'java -version')
  if (res.missing) {
    throw new KafkaScriptError(
      `Java not found (${java}); Kafka ${KAFKA_VERSION} needs a Java ${MIN_JAVA}+ runtime on PATH or in JAVA_HOME`,
    )
  }
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${res.stderr}${res.stdout}`)
  const major = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : NaN
  if (!(major >= MIN_JAVA)) {
    throw new KafkaScriptError(
      `Kafka ${KAFKA_VERSION} needs Java ${MIN_JAVA}+, but ${java} is ${match ? `Java ${major}` : 'of an unknown version'}`,
    )
  }
  return java
}

// ---------------------------------------------------------------------------------------------
// lock (one fetch/format/start at a time per checkout)

async function withLock(fn) {
  fs.mkdirSync(INSTANCE, { recursive: true })
  const deadline = Date.now() + 10 * 60_000
  let waited = false
  for (;;) {
    try {
      fs.writeFileSync(LOCK_FILE, String(process.pid), { flag: 'wx' })
      break
    } catch (err) {
      if (err.code !== 'EEXIST') throw err
      const holder = Number(fs.readFileSync(LOCK_FILE, 'utf8').trim() || 0)
      if (!holder || !isAlive(holder)) {
        fs.rmSync(LOCK_FILE, { force: true })
        continue
      }
      if (Date.now() > deadline) {
        throw new KafkaScriptError(`another kafka script (pid ${holder}) holds ${rel(LOCK_FILE)}`)
      }
      waited = true
      await sleep(250)
    }
  }
  try {
    return await fn(waited)
  } finally {
    fs.rmSync(LOCK_FILE, { force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// fetch

function pomHash() {
  return createHash('sha256').update(fs.readFileSync(POM)).digest('hex')
}

function isFetched() {
  try {
    const marker = JSON.parse(fs.readFileSync(FETCH_MARKER, 'utf8'))
    return (
      marker.version === KAFKA_VERSION &&
      marker.pom === pomHash() &&
      marker.jars.length > 0 &&
      marker.jars.every((jar) => fs.statSync(path.join(LIBS, jar)).size > 0)
    )
  } catch {
    return false
  }
}

function dirSizeBytes(dir) {
  return fs.readdirSync(dir).reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0)
}

export async function fetchKafka({ log = console.log } = {}) {
  if (isFetched()) return { fetched: false, ms: 0 }
  const t0 = Date.now()
  const mvn = process.env.MVN || 'mvn'
  const partial = `${LIBS}.partial`
  fs.rmSync(partial, { recursive: true, force: true })
  fs.rmSync(FETCH_MARKER, { force: true })
  fs.mkdirSync(DIST, { recursive: true })
  log(`kafka: fetching Kafka ${KAFKA_VERSION} from Maven Central into ${rel(LIBS)} ...`)
  const args = [
    '-q',
    '-B',
    '-Dstyle.color=never',
    '-f',
    POM,
    `-Dmaven.repo.local=${M2_REPO}`,
    `-Dkafka.version=${KAFKA_VERSION}`,
    'dependency:copy-dependencies',
    `-DoutputDirectory=${partial}`,
    '-DincludeScope=runtime',
  ]
  const res = run(mvn, args, 'mvn')
  if (res.missing) {
    throw new KafkaScriptError(
      `Maven not found (${mvn}); install Maven 3.6.3+ (e.g. apt-get install maven) or set MVN`,
    )
  }
  if (res.status !== 0) {
    const out = `${res.stdout}${res.stderr}`.trim().split('\n').slice(-25).join('\n')
    throw new KafkaScriptError(`fetching Kafka ${KAFKA_VERSION} with Maven failed:\n${out}`)
  }
  const jars = fs.readdirSync(partial).filter((f) => f.endsWith('.jar'))
  if (!jars.some((j) => j.startsWith('kafka_2.13-'))) {
    throw new KafkaScriptError(`Maven finished but ${rel(partial)} has no kafka_2.13 jar`)
  }
  fs.rmSync(LIBS, { recursive: true, force: true })
  fs.renameSync(partial, LIBS)
  const marker = { version: KAFKA_VERSION, pom: pomHash(), jars: jars.sort() }
  fs.writeFileSync(FETCH_MARKER, `${JSON.stringify(marker, null, 2)}\n`)
  const ms = Date.now() - t0
  const mb = (dirSizeBytes(LIBS) / 1024 / 1024).toFixed(0)
  log(`kafka: fetched ${jars.length} jars (${mb} MB) in ${ms} ms`)
  return { fetched: true, ms }
}

// ---------------------------------------------------------------------------------------------
// storage

function readState() {
  try {
    return JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'))
  } catch {
    return null
  }
}

function metaClusterId() {
  try {
    const meta = fs.readFileSync(path.join(DATA_DIR, 'meta.properties'), 'utf8')
    return /^cluster\.id=(.*)$/m.exec(meta)?.[1].trim() ?? null
  } catch {
    return null
  }
}

function newClusterId() {
  // Kafka's Uuid in URL-safe base64 without padding; avoid a leading '-' (looks like an option).
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

function renderProperties({ port, controllerPort }) {
  const template = fs.readFileSync(path.join(TEMPLATE_DIR, 'server.properties'), 'utf8')
  const values = { port, controllerPort, logDir: DATA_DIR.replaceAll('\\', '\\\\') }
  const text = template.replace(/\{\{(\w+)\}\}/g, (m, key) => String(values[key] ?? m))
  fs.writeFileSync(PROPS_FILE, text)
}

function log4jArgs(level) {
  const args = [`-Dlog4j2.configurationFile=${path.join(TEMPLATE_DIR, 'log4j2.yaml')}`]
  return level ? [...args, `-Daudtrail.kafka.logLevel=${level}`] : args
}

/** Formats .cache/kafka/data unless it already holds this version's storage for these ports. */
function ensureStorage(java, { port, controllerPort }, log) {
  const state = readState()
  const clusterId = metaClusterId()
  const formatted =
    state &&
    clusterId &&
    state.clusterId === clusterId &&
    state.version === KAFKA_VERSION &&
    state.port === port &&
    state.controllerPort === controllerPort
  if (formatted) return false
  if (fs.existsSync(DATA_DIR)) {
    const why = state ? `formatted for Kafka ${state.version} on port ${state.port}` : 'unknown'
    log(`kafka: reformatting ${rel(DATA_DIR)} (was ${clusterId ? why : 'not formatted'})`)
  }
  fs.rmSync(DATA_DIR, { recursive: true, force: true })
  fs.rmSync(STATE_FILE, { force: true })
  const id = newClusterId()
  const args = [
    '-cp',
    path.join(LIBS, '*'),
    ...log4jArgs('WARN'),
    'kafka.tools.StorageTool',
    'format',
    '--cluster-id',
    id,
    '--config',
    PROPS_FILE,
    '--standalone',
  ]
  const res = run(java, args, 'kafka storage format')
  if (res.status !== 0) {
    const out = `${res.stdout}${res.stderr}`.trim().split('\n').slice(-25).join('\n')
    throw new KafkaScriptError(`formatting KRaft storage in ${rel(DATA_DIR)} failed:\n${out}`)
  }
  const next = { clusterId: id, version: KAFKA_VERSION, port, controllerPort }
  fs.writeFileSync(STATE_FILE, `${JSON.stringify(next, null, 2)}\n`)
  return true
}

// ---------------------------------------------------------------------------------------------
// start / stop

async function waitUntilUp(brokers, { pid, exited, deadline }) {
  while (Date.now() < deadline) {
    if (exited?.()) return 'exited'
    if (pid && !isAlive(pid)) return 'exited'
    if (await probe(brokers, 2_000)) return 'up'
    await sleep(250)
  }
  return 'timeout'
}

async function killPid(pid, timeoutMs = STOP_TIMEOUT_MS) {
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return 'gone'
  }
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'stopped'
    await sleep(200)
  }
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    return 'stopped'
  }
  for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100)
  return 'killed'
}

function failStart(reason) {
  return new KafkaScriptError(
    `Kafka did not start on 127.0.0.1:${ports().port} (${reason}); last lines of ` +
      `${rel(LOG_FILE)}:\n${logTail()}`,
  )
}

/**
 * Makes sure a Kafka broker answers on 127.0.0.1:<port> (default 9092), starting the local
 * KRaft broker (fetching it from Maven Central first) when none does.
 * `started` is false when an already running broker was reused; `ms` is how long the call took.
 *
 * @param {{ log?: (line: string) => void }} [options]
 * @returns {Promise<{ started: boolean, brokers: string, ms: number }>}
 */
export async function ensureKafka({ log = console.log } = {}) {
  const t0 = Date.now()
  const { port, controllerPort, brokers } = ports()
  const reused = (how) => {
    log(`kafka: reusing ${how} on ${brokers}`)
    return { started: false, brokers, ms: Date.now() - t0 }
  }
  if (await probe(brokers)) return reused(describeOwner(ourPid()))

  return withLock(async (waited) => {
    // Someone else may have started it while we waited for the lock.
    if (waited && (await probe(brokers))) return reused(describeOwner(ourPid()))

    const running = ourPid()
    if (running) {
      // Ours but not answering yet (still starting, or starting concurrently): wait for it.
      log(`kafka: broker pid ${running} is running but not answering yet; waiting ...`)
      const deadline = Date.now() + START_TIMEOUT_MS
      const outcome = await waitUntilUp(brokers, { pid: running, deadline })
      if (outcome === 'up') return reused(describeOwner(running))
      throw failStart(
        outcome === 'exited' ? 'the broker exited' : 'the running broker does not answer',
      )
    }

    for (const p of [port, controllerPort]) {
      if (await portInUse(p)) {
        throw new KafkaScriptError(
          `port ${p} on 127.0.0.1 is in use by a process that is not a Kafka broker; free it or ` +
            'set AUDTRAIL_KAFKA_PORT (the controller uses port + 1)',
        )
      }
    }

    const java = checkJava()
    await fetchKafka({ log })
    const t1 = Date.now()
    renderProperties({ port, controllerPort })
    ensureStorage(java, { port, controllerPort }, log)

    const out = fs.openSync(LOG_FILE, 'w')
    const args = [
      ...JVM_HEAP,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:+ExplicitGCInvokesConcurrent',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      ...log4jArgs(),
      '-cp',
      path.join(LIBS, '*'),
      'kafka.Kafka',
      PROPS_FILE,
    ]
    let child
    try {
      child = spawn(java, args, { cwd: HOME, detached: true, stdio: ['ignore', out, out] })
    } finally {
      fs.closeSync(out)
    }
    let exited = null
    child.once('exit', (code, signal) => (exited = { code, signal }))
    child.once('error', (err) => (exited = { error: err }))
    child.unref()
    if (!child.pid) throw failStart('could not spawn java')
    fs.writeFileSync(PID_FILE, `${child.pid}\n`)

    const deadline = t1 + START_TIMEOUT_MS
    const outcome = await waitUntilUp(brokers, { exited: () => exited, deadline })
    if (outcome !== 'up') {
      if (outcome === 'timeout') await killPid(child.pid, 10_000)
      fs.rmSync(PID_FILE, { force: true })
      const how = exited?.error?.message ?? (exited?.signal ? `signal ${exited.signal}` : null)
      const reason =
        outcome === 'exited'
          ? `java exited with ${how ?? `exit code ${exited?.code}`}`
          : `no answer within ${START_TIMEOUT_MS / 1000} s`
      throw failStart(reason)
    }
    try {
      await withTimeout(warmUp(brokers), 30_000, 'warm-up')
    } catch (err) {
      log(`kafka: warning: group coordinator warm-up failed (${err.message})`)
    }
    log(
      `kafka: up on ${brokers} in ${Date.now() - t1} ms (Kafka ${KAFKA_VERSION}, pid ${child.pid}, ` +
        `log ${rel(LOG_FILE)})`,
    )
    return { started: true, brokers, ms: Date.now() - t0 }
  })
}

function describeOwner(pid) {
  return pid ? `the broker started by this script (pid ${pid})` : 'an already running broker'
}

/**
 * Stops the broker this script started (pid file); never touches a broker it did not start.
 * Resolves to true when a broker was stopped, false when none of ours was running.
 *
 * @param {{ log?: (line: string) => void }} [options]
 * @returns {Promise<boolean>}
 */
export async function stopKafka({ log = console.log } = {}) {
  const { brokers } = ports()
  const pid = ourPid()
  if (!pid) {
    const other = await probe(brokers)
    log(
      other
        ? `kafka: a broker answers on ${brokers} but was not started by this script; leaving it alone`
        : 'kafka: not running',
    )
    return false
  }
  const t0 = Date.now()
  const how = await killPid(pid)
  fs.rmSync(PID_FILE, { force: true })
  const note = how === 'killed' ? ` (SIGKILL after ${STOP_TIMEOUT_MS / 1000} s)` : ''
  log(`kafka: stopped pid ${pid} in ${Date.now() - t0} ms${note}`)
  return true
}

/** Prints whether a broker answers; resolves to true when it does. */
export async function kafkaStatus({ log = console.log } = {}) {
  const { brokers } = ports()
  const pid = ourPid()
  const cluster = await probe(brokers)
  if (cluster) {
    const owner = pid ? `started by this script, pid ${pid}` : 'not started by this script'
    log(`kafka: up on ${brokers} (cluster id ${cluster.clusterId}, ${owner})`)
    return true
  }
  log(
    pid
      ? `kafka: pid ${pid} is running but ${brokers} does not answer (see ${rel(LOG_FILE)})`
      : `kafka: not running on ${brokers}`,
  )
  return false
}

// ---------------------------------------------------------------------------------------------
// CLI

async function main(command) {
  switch (command) {
    case 'fetch': {
      const { fetched } = await withLock(() => fetchKafka())
      if (!fetched) console.log(`kafka: Kafka ${KAFKA_VERSION} already fetched in ${rel(LIBS)}`)
      return 0
    }
    case 'start':
      await ensureKafka()
      return 0
    case 'stop':
      await stopKafka()
      return 0
    case 'status':
      return (await kafkaStatus()) ? 0 : 1
    default:
      console.error('usage: node scripts/kafka.mjs fetch|start|stop|status')
      return 2
  }
}

const invokedDirectly =
  process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href

if (invokedDirectly) {
  main(process.argv[2]).then(
    (code) => process.exit(code),
    (err) => {
      if (err instanceof KafkaScriptError) console.error(`kafka: error: ${err.message}`)
      else console.error(err)
      process.exit(1)
    },
  )
}
