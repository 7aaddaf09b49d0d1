/**
 * bench:detect — with the real broker and the embedded engine: produce 5 000 events/s for 60 s
 * with attacks mixed in (a token minted for one resource, accepted at another), measure the delay
 * from produce to the finding being queryable (p50/p99), then the streaming rules' throughput on
 * one core (no I/O). `BENCH_RATE`, `BENCH_SECONDS` override; `BENCH_ATTACK=dpop-replay` mixes in
 * DPoP proofs replayed at a second server instead (dpop-proof-replay); ends with one JSON line.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { createStreamingDetector } from '../src/detection/engine.js'
import { createFindingsStore, type FindingsStore } from '../src/detection/findings-store.js'
import { RULES } from '../src/detection/rules/index.js'
import { parseEvent } from '../src/events/parse.js'
import { createLogger } from '../src/logger.js'
import { Metrics, pipelineMetrics } from '../src/metrics.js'
import { createClickHouseSink } from '../src/pipeline/sink.js'
import { createStorage } from '../src/storage/client.js'
import { toEventRow } from '../src/events/event-row.js'
import { migrate } from '../src/storage/migrate.js'
import { startConsumer } from '../src/transport/consumer.js'
import { createKafka } from '../src/transport/kafka.js'
import { benchEvent } from './events.js'

const BROKERS = (process.env.AUDTRAIL_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
const RATE = Number(process.env.BENCH_RATE ?? 5000)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60)
const ATTACK_EVERY = 500
const log = createLogger('silent')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN

const ATTACK = process.env.BENCH_ATTACK === 'dpop-replay' ? 'dpop-replay' : 'aud-mismatch'
const ATTACK_RULE = ATTACK === 'dpop-replay' ? 'dpop-proof-replay' : 'aud-mismatch-accepted'
const JKT = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiGQA4I'

/** The attack's events: the delay is measured from when they were produced. */
function attack(): Record<string, unknown>[] {
  return ATTACK === 'dpop-replay' ? dpopReplay() : [audMismatch()]
}

/** A DPoP proof presented at mcp-1 and the same proof replayed at mcp-2: dpop-proof-replay. */
function dpopReplay(): Record<string, unknown>[] {
  const resource = 'https://mcp-0.example.com/mcp'
  const iat = Math.floor(Date.now() / 1000) - 60
  const presentation = (server: string, ip: string) =>
    benchEvent({
      source: { kind: 'mcp_server', id: server },
      resource,
      presented_aud: [resource],
      decision: 'accepted',
      reason: 'ok',
      http: { method: 'POST', path: '/mcp', status: 200 },
      network: { ip },
      token: { jti, iat, exp: iat + 3600, aud: [resource], format: 'jwt', cnf: { jkt: JKT } },
      proof: {
        scheme: 'DPoP',
        verdict: 'valid',
        jti_fingerprint: proofJti,
        iat: iat + 60,
        htm: 'POST',
        htu: resource,
        ath: 'match',
        alg: 'ES256',
        jkt: JKT,
      },
    })
  const jti = `attack-${randomUUID()}`
  const proofJti = randomBytes(32).toString('base64url')
  return [presentation('mcp-1', '10.1.0.1'), presentation('mcp-2', '198.51.100.20')]
}

function audMismatch(): Record<string, unknown> {
  // A token minted for mcp-a, accepted by mcp-b without an audience check: aud-mismatch-accepted.
  return benchEvent({
    resource: 'https://mcp-b.example.com/mcp',
    presented_aud: ['https://mcp-a.example.com/mcp'],
    token: { jti: `attack-${randomUUID()}`, aud: ['https://mcp-a.example.com/mcp'], format: 'jwt' },
    decision: 'accepted',
    reason: 'ok',
  })
}

async function latency() {
  const kafka = new Kafka({
    clientId: 'bench-detect',
    brokers: BROKERS,
    logLevel: logLevel.NOTHING,
  })
  const topic = `audtrail.bench.detect.${randomUUID()}`
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({
    topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
    waitForLeaders: true,
  })
  await admin.disconnect()

  const dataDir = mkdtempSync(join(tmpdir(), 'bench-detect-'))
  const storage = createStorage({ database: 'bench', dataDir })
  await migrate(storage, { retention: { eventsDays: 400, rejectedDays: 30, findingsDays: 730 } })
  const detector = createStreamingDetector({
    rules: RULES,
    store: createFindingsStore(storage),
    logger: log,
  })
  const consumer = await startConsumer({
    kafka: createKafka({ brokers: BROKERS, clientId: 'bench-detect', logger: log }),
    topic,
    groupId: `bench-${topic}`,
    sink: createClickHouseSink(storage),
    detector,
    metrics: pipelineMetrics(new Metrics()),
    logger: log,
    retentionDays: 400,
  })

  const producedAt = new Map<string, number>()
  const seenAt = new Map<string, number>()
  let producing = true
  // Poll for the attack findings while producing: the delay is when a finding became queryable.
  const polling = (async () => {
    const deadline = () => !producing && (seenAt.size >= producedAt.size || Date.now() > stopBy)
    let stopBy = Infinity
    while (!deadline()) {
      if (!producing && stopBy === Infinity) stopBy = Date.now() + 120_000
      const rs = await storage.client.query({
        query: `SELECT token_key FROM bench.findings FINAL WHERE rule_id = {rule:String} AND startsWith(token_key, 'attack-')`,
        query_params: { rule: ATTACK_RULE },
        format: 'JSONEachRow',
      })
      const now = Date.now()
      for (const { token_key } of await rs.json<{ token_key: string }>())
        if (!seenAt.has(token_key)) seenAt.set(token_key, now)
      await sleep(100)
    }
  })()

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const started = performance.now()
  let sent = 0
  for (let tick = 0; tick < SECONDS * 10; tick++) {
    const due = Math.round(((tick + 1) * RATE) / 10) - sent
    const events = Array.from({ length: due }, (_, i) =>
      (sent + i) % ATTACK_EVERY === 0 ? attack() : [benchEvent()],
    ).flat()
    const now = Date.now()
    for (const e of events) {
      const jti = (e.token as { jti: string }).jti
      if (jti.startsWith('attack-')) producedAt.set(jti, now)
    }
    await producer.send({
      topic,
      acks: -1,
      messages: events.map((e) => ({ value: JSON.stringify(e) })),
    })
    sent += events.length
    const wait = started + (tick + 1) * 100 - performance.now()
    if (wait > 0) await sleep(wait)
  }
  const produceSeconds = (performance.now() - started) / 1000
  producing = false
  await producer.disconnect()
  await polling
  await consumer.stop()
  await storage.close()
  // Neither the topic nor the engine's files are left behind.
  rmSync(dataDir, { recursive: true, force: true })
  await admin.connect()
  await admin.deleteTopics({ topics: [topic] }).catch(() => {})
  await admin.disconnect()
  const delays = [...seenAt].map(([k, t]) => t - producedAt.get(k)!)
  return {
    sent,
    produceSeconds,
    attacks: producedAt.size,
    found: seenAt.size,
    p50: pct(delays, 50),
    p99: pct(delays, 99),
  }
}

async function throughput() {
  const events = Array.from({ length: 200_000 }, (_, i) =>
    i % ATTACK_EVERY === 0 ? attack() : [benchEvent()],
  ).flat()
  const rows = events.map((e) => {
    const parsed = parseEvent(e)
    if (!parsed.ok) throw new Error(parsed.reasons.join('; '))
    return toEventRow(parsed.event, { receivedAt: Date.now() })
  })
  const store: FindingsStore = { record: async () => [], recordAll: async () => [] }
  const detector = createStreamingDetector({ rules: RULES, store, logger: log })
  const start = performance.now()
  for (let i = 0; i < rows.length; i += 2500) await detector.process(rows.slice(i, i + 2500))
  return rows.length / ((performance.now() - start) / 1000)
}

const l = await latency()
console.log(
  `attack: ${ATTACK_RULE}; produced ${l.sent} events in ${l.produceSeconds.toFixed(1)} s (${Math.round(l.sent / l.produceSeconds)}/s); attacks ${l.attacks}, found ${l.found}`,
)
console.log(
  `produce -> finding queryable: p50 ${l.p50} ms, p99 ${l.p99} ms (target p99 <= 2000 ms)`,
)
const rate = await throughput()
console.log(
  `streaming rules (${RULES.filter((r) => r.kind === 'event').length} event rules) on one core: ${Math.round(rate)} events/s`,
)
console.log(
  JSON.stringify({
    bench: 'detect',
    attack: ATTACK_RULE,
    target_rate: RATE,
    achieved_rate: Math.round(l.sent / l.produceSeconds),
    seconds: SECONDS,
    attacks: l.attacks,
    attacks_found: l.found,
    p50_ms: l.p50,
    p99_ms: l.p99,
    rules_events_per_s: Math.round(rate),
  }),
)
process.exit(0)
