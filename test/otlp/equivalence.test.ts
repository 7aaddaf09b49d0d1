/**
 * Equivalence (issue 28): the demo's traffic, sent once through the native collectors and once as
 * OTLP, yields the same findings.
 *
 * The demo's peers (its authorization server, MCP servers A and B, the API, each with its
 * audtrail collector) and its agent (benign traffic, every attack, the expired token, the
 * backdated history) run once; every collector's emitter is a tee whose legs are real emitters,
 * each into its own listening API and store (the embedded engine, the streaming detector, the
 * scheduled rules, as `audtrail serve` wires them; the demo's tenant in each):
 *
 * - `native`: the `http` transport to `/v1/ingest`, as the demo sends;
 * - `otlp`: the `otlp` transport (OTLP JSON, gzip) straight to `/v1/otlp/logs`;
 * - `collector`: the `otlp` transport to an OpenTelemetry Collector stand-in that forwards each
 *   request to `/v1/otlp/logs` in protobuf, as its `otlphttp` exporter does;
 * - the controls, which show the comparison can fail: the same behind a Collector whose
 *   `transform` deletes one attribute, `audtrail.requested_resources` (`no_resources`: the AS's
 *   token events become invalid and are refused) or `audtrail.presented_aud` (`no_presented_aud`:
 *   the presentations stay valid, and silently lose what the audience rules read).
 *
 * A tee (rather than running the scenario once per arm) gives each arm the very same events, so
 * everything of a finding compares, its id (derived from tenant, rule and keys) included, but its
 * version and update time.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEmitter, type AudtrailEmitter } from '../../src/collectors/emitter/index.js'
import type { Emitter } from '../../src/collectors/types.js'
import {
  attacks,
  benignTraffic,
  cacheStaleToken,
  useExpiredToken,
  type Say,
} from '../../src/demo/agent.js'
import { startAuthorizationServer } from '../../src/demo/authorization-server.js'
import { emitHistory } from '../../src/demo/history.js'
import type { Listening } from '../../src/demo/mcp-server.js'
import type { Peers } from '../../src/demo/peers.js'
import { startApi, startMcpServerA, startMcpServerB } from '../../src/demo/resource-servers.js'
import {
  AUDTRAIL_TENANT,
  EXPECTED_RULES,
  EXPIRY_SKEW_S,
  RESOURCE_SERVERS,
} from '../../src/demo/scenario.js'
import { createStreamingDetector } from '../../src/detection/engine.js'
import { createFindingsStore } from '../../src/detection/findings-store.js'
import { RULES } from '../../src/detection/rules/index.js'
import { runScheduledRules } from '../../src/detection/scheduler.js'
import type { AuditEventInput } from '../../src/events/schema.js'
import { createLogger } from '../../src/logger.js'
import { Metrics, pipelineMetrics } from '../../src/metrics.js'
import { decodeProtobufAnswer } from '../../src/otlp/wire.js'
import { sinkTarget } from '../../src/pipeline/ingest.js'
import { createClickHouseSink } from '../../src/pipeline/sink.js'
import { parseResourceRegistry } from '../../src/resource-registry.js'
import type { ClickHouseStorage } from '../../src/storage/client.js'
import { migrate } from '../../src/storage/migrate.js'
import { testApp } from '../helpers/api-app.js'
import { apiKeys } from '../helpers/api-tokens.js'
import { protobufLogs, type JsonLogsRequest } from '../helpers/otlp-protobuf.js'
import { closeTestStorages, eventCounts, RETENTION, testStorage } from '../helpers/storage.js'

const ARMS = ['native', 'otlp', 'collector', 'no_resources', 'no_presented_aud'] as const
/** The arms that must equal `native`. */
const SAME = ['native', 'otlp', 'collector'] as const
type Arm = (typeof ARMS)[number]
/** The emitters of the demo's peers, in the order each arm's are flushed. */
const PEERS = ['history', 'as', 'mcpA', 'mcpB', 'api'] as const
type Peer = (typeof PEERS)[number]

/**
 * `expired-token-accepted` runs with a leeway of 1 s instead of its default 60 s (both arms
 * alike), so the cached token (5 s of life at MCP server B) is used 3 s past its `exp` instead
 * of 62 s: the demo's step, waiting less.
 */
const SKEW_S = 1
const PARAMS = { 'expired-token-accepted': { clockSkewS: SKEW_S } }

const log = createLogger('silent')
const registry = parseResourceRegistry(
  Object.entries(RESOURCE_SERVERS).map(([resource, rs]) => ({
    resource,
    kind: rs.kind,
    scopes: rs.scope.split(' '),
  })),
)
const closers: (() => Promise<unknown>)[] = []
/** Each arm's API and store. */
const targets = {} as Record<
  Arm,
  { storage: ClickHouseStorage; app: FastifyInstance; base: string }
>
let keys: Awaited<ReturnType<typeof apiKeys>>

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

async function listening(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  closers.push(() => new Promise((resolve) => server.close(resolve)))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/**
 * An OpenTelemetry Collector stand-in: an OTLP/HTTP logs receiver (JSON, gzip) whose pipeline
 * deletes the `drop` attributes (a `transform` processor) and exports to `target` in protobuf
 * with its own bearer token (the `otlphttp` exporter). It answers with audtrail's partial
 * success (a real Collector answers for its own queue), so the emitter still counts refusals.
 */
async function collector(target: string, token: string, drop: readonly string[] = []) {
  const forward = async (body: Buffer, encoding: string | undefined) => {
    const request = JSON.parse(
      (encoding === 'gzip' ? gunzipSync(body) : body).toString('utf8'),
    ) as JsonLogsRequest
    for (const rl of request.resourceLogs ?? [])
      for (const sl of rl.scopeLogs ?? [])
        for (const r of sl.logRecords ?? [])
          r.attributes = (r.attributes ?? []).filter((kv) => !drop.includes(kv.key))
    const res = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${token}` },
      body: await protobufLogs(request),
    })
    if (res.status !== 200) return { status: res.status, answer: await res.text() }
    const { rejected, message } = decodeProtobufAnswer(new Uint8Array(await res.arrayBuffer()))
    const partial = { rejectedLogRecords: String(rejected), errorMessage: message }
    return { status: 200, answer: JSON.stringify(rejected > 0 ? { partialSuccess: partial } : {}) }
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      forward(Buffer.concat(chunks), req.headers['content-encoding']).then(
        ({ status, answer }) => {
          res.writeHead(status, { 'content-type': 'application/json' }).end(answer)
        },
        (err: unknown) => {
          res.writeHead(502, { 'content-type': 'text/plain' }).end(String(err))
        },
      )
    })
  })
  return `${await listening(server)}/v1/logs`
}

/** A collector's emitter: the same event to every arm's emitter. */
class Tee implements Emitter {
  constructor(readonly legs: Record<Arm, AudtrailEmitter>) {}
  emit(event: AuditEventInput): void {
    for (const arm of ARMS) this.legs[arm].emit(event)
  }
  async flush(): Promise<void> {
    for (const arm of ARMS) await this.legs[arm].flush()
  }
  async close(): Promise<void> {
    for (const arm of ARMS) await this.legs[arm].close()
  }
  stats() {
    return this.legs.native.stats()
  }
}

/** Sent only in full batches and by `flush`: each arm gets its events in the same requests. */
function emitter(transport: Parameters<typeof createEmitter>[0]['transport']): AudtrailEmitter {
  return createEmitter({
    transport,
    batchSize: 500,
    flushIntervalMs: 3_600_000,
    retryInitialMs: 100,
    retryMaxMs: 500,
    closeOnExit: false,
  })
}

async function tees(): Promise<Record<Peer, Tee>> {
  // The collectors' events are the demo's tenant's (the emitter's default), as in the demo.
  const token = await keys.token(
    { roles: ['ingest'], tenant: AUDTRAIL_TENANT },
    { expiresIn: '1h' },
  )
  const logs = (arm: Arm) => `${targets[arm].base}/v1/otlp/logs`
  const made: Record<Arm, () => Promise<Parameters<typeof emitter>[0]>> = {
    native: async () => ({ type: 'http', url: `${targets.native.base}/v1/ingest`, token }),
    otlp: async () => ({ type: 'otlp', url: logs('otlp'), token }),
    collector: async () => ({ type: 'otlp', url: await collector(logs('collector'), token) }),
    no_resources: async () => ({
      type: 'otlp',
      url: await collector(logs('no_resources'), token, ['audtrail.requested_resources']),
    }),
    no_presented_aud: async () => ({
      type: 'otlp',
      url: await collector(logs('no_presented_aud'), token, ['audtrail.presented_aud']),
    }),
  }
  const transports = Object.fromEntries(
    await Promise.all(ARMS.map(async (arm) => [arm, await made[arm]()] as const)),
  ) as Record<Arm, Parameters<typeof emitter>[0]>
  const tee = Object.fromEntries(
    PEERS.map((peer) => [
      peer,
      new Tee(
        Object.fromEntries(ARMS.map((arm) => [arm, emitter(transports[arm])])) as Record<
          Arm,
          AudtrailEmitter
        >,
      ),
    ]),
  ) as Record<Peer, Tee>
  for (const t of Object.values(tee)) closers.push(() => t.close())
  return tee
}

/** The demo's peers with `tee` as their collectors' emitters (startPeers with other emitters). */
async function peersWith(tee: Record<Peer, Tee>): Promise<Peers> {
  const as = await startAuthorizationServer(tee.as)
  closers.push(() => as.close())
  const started: Listening[] = await Promise.all([
    startMcpServerA(as, tee.mcpA),
    startMcpServerB(as, tee.mcpB),
    startApi(as, tee.api),
  ])
  for (const s of started) closers.push(() => s.close())
  const [mcpA, mcpB, api] = started as [Listening, Listening, Listening]
  // The agent's steps reach the peers by these; history is emitted through the tee below.
  return { as, mcpA, mcpB, api } as Peers
}

interface FindingRow {
  finding_id: string
  rule_id: string
  severity: string
  title: string
  keys: Record<string, string>
  token_key: string
  client_id: string
  resource: string
  evidence: string
  mappings: string
  first_seen: string
  last_seen: string
  count: string | number
}

/** An arm's findings, all but their version and update time, in order. */
async function findings(arm: Arm) {
  const { storage } = targets[arm]
  const rs = await storage.client.query({
    query: `SELECT finding_id, rule_id, severity, title, keys, token_key, client_id, resource,
        evidence, mappings, first_seen, last_seen, count
      FROM ${storage.database}.findings FINAL WHERE tenant = {tenant:String}`,
    query_params: { tenant: AUDTRAIL_TENANT },
    format: 'JSONEachRow',
  })
  const rows = await rs.json<FindingRow>()
  return rows
    .map((r) => {
      const evidence = JSON.parse(r.evidence) as Record<string, unknown>
      // The events behind a finding, in no particular order (the same ids in every arm).
      if (Array.isArray(evidence.event_ids)) evidence.event_ids = [...evidence.event_ids].sort()
      return { ...r, count: Number(r.count), evidence, mappings: JSON.parse(r.mappings) as unknown }
    })
    .sort((a, b) => `${a.rule_id} ${a.finding_id}`.localeCompare(`${b.rule_id} ${b.finding_id}`))
}

/** An arm's stored events, all but the arrival time and the `otlp.*` links. */
async function events(arm: Arm) {
  const { storage } = targets[arm]
  const rs = await storage.client.query({
    query: `SELECT * EXCEPT (received_at, attributes),
        mapFilter((k, v) -> NOT startsWith(k, 'otlp.'), attributes) AS own_attributes
      FROM ${storage.database}.events FINAL ORDER BY event_id`,
    format: 'JSONEachRow',
  })
  return rs.json<Record<string, unknown>>()
}

/** The reasons of each event an arm refused (rejected_events). */
async function refusals(arm: Arm): Promise<string[][]> {
  const { storage } = targets[arm]
  const rs = await storage.client.query({
    query: `SELECT reasons FROM ${storage.database}.rejected_events`,
    format: 'JSONEachRow',
  })
  return (await rs.json<{ reasons: string[] }>()).map((r) => r.reasons)
}

beforeAll(async () => {
  keys = await apiKeys()
  for (const arm of ARMS) {
    const storage = testStorage(`otlp_equivalence_${arm}`)
    await migrate(storage, { retention: RETENTION })
    const metrics = new Metrics()
    const detector = createStreamingDetector({
      rules: RULES,
      store: createFindingsStore(storage),
      registry,
      logger: log,
      params: PARAMS,
    })
    const app = await testApp(keys, {
      metrics,
      ingest: {
        target: sinkTarget(createClickHouseSink(storage), detector),
        retentionDays: RETENTION.eventsDays,
        pipeline: pipelineMetrics(metrics),
        aliases: registry.aliases,
      },
    })
    await app.listen({ host: '127.0.0.1', port: 0 })
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    targets[arm] = { storage, app, base }
  }
}, 240_000)

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {})
  for (const t of Object.values(targets)) await t.app.close()
  await closeTestStorages()
}, 120_000)

describe('the demo through the native collectors and as OTLP', () => {
  it('yields the same findings; a Collector that drops an attribute does not', async () => {
    const tee = await tees()
    const peers = await peersWith(tee)
    const steps: string[] = []
    const say: Say = (step, result) => steps.push(`${step}: ${result}`)

    // The demo's script (src/demo/run.ts), in its order.
    const stale = await cacheStaleToken(peers)
    const history = emitHistory(tee.history, peers.as.issuer)
    const tokenA = await benignTraffic(peers, say)
    await attacks(peers, tokenA, say)
    await useExpiredToken(peers, stale, say, (ms) =>
      sleep(Math.max(0, ms - (EXPIRY_SKEW_S - SKEW_S) * 1000)),
    )
    expect(steps.join('\n')).toMatch(/^expired: .*accepted/m)

    // Each arm's emitters in turn, in the same order: the same requests reach the detector.
    for (const arm of ARMS) for (const peer of PEERS) await tee[peer].legs[arm].flush()
    const sent = (arm: Arm) => PEERS.map((peer) => tee[peer].legs[arm].stats())
    for (const arm of [...SAME, 'no_presented_aud'] as const)
      for (const s of sent(arm)) expect(s, arm).toMatchObject({ rejected: 0, dropped: 0 })
    const total = sent('native').reduce((n, s) => n + s.sent, 0)
    expect(total).toBeGreaterThan(history.events)
    for (const arm of ARMS)
      expect(
        sent(arm).reduce((n, s) => n + s.sent + s.rejected, 0),
        arm,
      ).toBe(total)

    const now = Date.now() + 1
    for (const arm of ARMS) {
      const { storage } = targets[arm]
      await runScheduledRules(
        {
          storage,
          rules: RULES,
          store: createFindingsStore(storage),
          registry,
          logger: log,
          params: PARAMS,
          latenessMs: 0,
        },
        now,
      )
    }

    // The same events stored in each arm, nothing refused.
    const native = await events('native')
    expect(native).toHaveLength(total)
    expect(await events('otlp')).toEqual(native)
    expect(await events('collector')).toEqual(native)
    expect((await eventCounts(targets.otlp.storage, AUDTRAIL_TENANT)).events).toBe(total)
    for (const arm of SAME) expect(await refusals(arm), arm).toEqual([])

    // Every attack of the demo shows up natively ...
    const expected = await findings('native')
    const rules = (list: typeof expected) => [...new Set(list.map((f) => f.rule_id))].sort()
    expect(rules(expected)).toEqual(expect.arrayContaining([...EXPECTED_RULES]))
    // ... and the findings of each OTLP arm are the same, field for field.
    expect(await findings('otlp')).toEqual(expected)
    expect(await findings('collector')).toEqual(expected)

    // The controls: a Collector that loses one attribute gives other findings.
    // Without `requested_resources` the AS's token events are refused (the contract requires the
    // list) and kept with the reason: the findings they make are missing.
    const noResources = await findings('no_resources')
    expect(noResources).not.toEqual(expected)
    const refused = await refusals('no_resources')
    expect(refused.length).toBeGreaterThan(0)
    for (const reasons of refused) expect(reasons.join('; ')).toContain('requested_resources')
    expect(rules(expected)).toEqual(
      expect.arrayContaining(['missing-resource-indicator', 'granted-aud-mismatch']),
    )
    expect(rules(noResources)).not.toContain('missing-resource-indicator')
    expect(rules(noResources)).not.toContain('granted-aud-mismatch')
    // Without `presented_aud` every event is stored and nothing is refused: only the findings
    // tell.
    expect(await refusals('no_presented_aud')).toEqual([])
    expect(await events('no_presented_aud')).toHaveLength(total)
    expect(await findings('no_presented_aud')).not.toEqual(expected)
  }, 240_000)
})
