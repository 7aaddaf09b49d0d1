/**
 * bench:fairness — does one tenant's heaviest load stall another tenant? An embedded engine with
 * BENCH_EVENTS (default 1 000 000) events and their findings over 30 days in two tenants,
 * `heavy` and `quiet`, served as `audtrail serve` serves them (JWT auth, per-caller rate limit,
 * HTTP ingest into the ClickHouse sink with the streaming rules). Tenant `quiet` lists its
 * findings at 20 requests a second (`GET /v1/findings?limit=50`, one analyst's UI) in three arms,
 * side by side in each round:
 *
 * - quiet: nobody else;
 * - before: tenant `heavy` at the same time, through an app with the new mechanisms switched off
 *   (no ingest or report weights, no cap on expensive requests, ingest validated in one piece):
 *   INGEST_LOOPS clients posting 10 000-event bodies (6.8 MB) and REPORT_LOOPS clients asking for
 *   the 30-day compliance report of every framework, each again as soon as it is answered;
 * - after: the same clients through an app with the configuration's limits (AUDTRAIL_* variables
 *   from the environment; by default 5 000 events a second per tenant, 180 report-days a minute,
 *   2 expensive requests at once), ingest in slices.
 *   The clients keep to their limits: on a 429 they wait its Retry-After.
 *
 * Target: under the heavy tenant's load, the quiet tenant's p95 at most 2x its quiet p95 (after).
 * Printed: the quiet tenant's p50/p95/p99 per arm and each round's p95, the heavy tenant's
 * throughput and refusals, the event loop's longest stall and the longest GC pause; one JSON line
 * at the end. BENCH_SECONDS (per arm and round, default 15), BENCH_ROUNDS (default 3),
 * BENCH_INGEST_LOOPS (default 2) and BENCH_REPORT_LOOPS (default 8) override.
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose'
import { buildApp } from '../src/api/app.js'
import { createAuthenticator } from '../src/api/auth.js'
import { Fairness, fairnessFromConfig, withFairness } from '../src/api/fairness.js'
import { rateLimited } from '../src/api/rate-limit.js'
import { streamingDetector } from '../src/cli/detection.js'
import { loadConfig } from '../src/config.js'
import { RULES } from '../src/detection/rules/index.js'
import { createLogger } from '../src/logger.js'
import { Metrics, pipelineMetrics } from '../src/metrics.js'
import { sinkTarget } from '../src/pipeline/ingest.js'
import { createClickHouseSink } from '../src/pipeline/sink.js'
import { createStorage, type ClickHouseStorage } from '../src/storage/client.js'
import { migrate } from '../src/storage/migrate.js'
import { benchEvent } from './events.js'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
/** The heavy tenant's load starts this long before the quiet tenant is measured. */
const WARM_S = 3
const INGEST_LOOPS = Number(process.env.BENCH_INGEST_LOOPS ?? 2)
const REPORT_LOOPS = Number(process.env.BENCH_REPORT_LOOPS ?? 8)
const BODY_EVENTS = 10_000
/** The quiet tenant's requests per second (open loop: a stall delays the ones behind it too). */
const QUIET_RATE = 20
const TARGET_RATIO = 2
const CLIENTS = 2000
const RESOURCES = 50
const PER_TOKEN = 8
const DAY_MS = 86_400_000
const SPAN_MS = 30 * DAY_MS
const ISSUER = 'https://idp.bench.invalid'
const AUDIENCE = 'https://audtrail.bench.invalid/api'
const SELF = fileURLToPath(import.meta.url)

const now = Date.now()
const start = now - SPAN_MS
const resources = Array.from({ length: RESOURCES }, (_, i) => `https://mcp-${i}.example.com/mcp`)

/**
 * Events as bench/api.ts loads them (tokens of 8 events over 30 days, skewed clients, 1% foreign
 * audiences, 3% rejected), in two tenants by client: `heavy` and `quiet`.
 */
const EVENTS_SQL = `
INSERT INTO {{db}}.events (tenant, event_id, event_type, schema_version, occurred_at, received_at,
  source_kind, source_id, issuer, client_id, subject, token_key, token_key_kind, token_jti,
  token_iat, token_exp, token_aud, token_aud_canonical, token_scopes, token_format, network_ip,
  grant_type, requested_resources, requested_resources_canonical, requested_resources_drift,
  requested_scopes, granted_aud, granted_aud_canonical, granted_aud_drift, granted_scopes, resource,
  resource_canonical, resource_drift_key, resource_valid, presented_aud, presented_aud_canonical,
  presented_aud_drift, aud_match, aud_validated, decision, reason, tool_method, tool_name,
  http_method, http_path, http_status)
SELECT
  if(c % 2 = 1, 'quiet', 'heavy') AS tenant,
  generateUUIDv4(number) AS event_id,
  if(k = 0, 'token.issued', 'token.presented') AS event_type,
  1 AS schema_version,
  fromUnixTimestamp64Milli(toInt64({start:Int64} + t0 + k * 90000), 'UTC') AS occurred_at,
  occurred_at + toIntervalMillisecond(150) AS received_at,
  if(event_type = 'token.presented', 'mcp_server', 'authorization_server') AS source_kind,
  if(event_type = 'token.presented', concat('mcp-', toString(r)), 'as') AS source_id,
  'https://as.example.com' AS issuer,
  concat('agent-', toString(c)) AS client_id,
  concat('user-', toString(h % 5000)) AS subject,
  concat('at-', toString(t)) AS token_key,
  'jti' AS token_key_kind,
  token_key AS token_jti,
  intDiv({start:Int64} + t0, 1000) AS token_iat,
  token_iat + 3600 AS token_exp,
  [res] AS token_aud,
  [res] AS token_aud_canonical,
  ['tools.read'] AS token_scopes,
  'jwt' AS token_format,
  IPv4NumToString(toUInt32(167772160 + c * 16 + number % 16)) AS network_ip,
  if(event_type = 'token.issued', 'client_credentials', '') AS grant_type,
  if(event_type = 'token.presented', [], [res]) AS requested_resources,
  if(event_type = 'token.presented', [], [res]) AS requested_resources_canonical,
  if(event_type = 'token.presented', [], [res]) AS requested_resources_drift,
  if(event_type = 'token.issued', ['tools.read'], []) AS requested_scopes,
  if(event_type = 'token.presented', [], [res]) AS granted_aud,
  if(event_type = 'token.presented', [], [res]) AS granted_aud_canonical,
  if(event_type = 'token.presented', [], [res]) AS granted_aud_drift,
  if(event_type = 'token.issued', ['tools.read'], []) AS granted_scopes,
  if(event_type = 'token.presented', res, '') AS resource,
  if(event_type = 'token.presented', res, '') AS resource_canonical,
  if(event_type = 'token.presented', res, '') AS resource_drift_key,
  event_type = 'token.presented' AS resource_valid,
  if(event_type = 'token.presented', [aud], []) AS presented_aud,
  if(event_type = 'token.presented', [aud], []) AS presented_aud_canonical,
  if(event_type = 'token.presented', [aud], []) AS presented_aud_drift,
  if(event_type != 'token.presented', '', if(aud = res, 'identical', 'different')) AS aud_match,
  if(event_type = 'token.presented', number % 50 != 7, NULL) AS aud_validated,
  if(event_type != 'token.presented', '', if(number % 33 = 5 OR aud != res, 'rejected', 'accepted')) AS decision,
  if(decision = '', '', if(decision = 'accepted', 'ok', 'aud_mismatch')) AS reason,
  if(event_type = 'token.presented', 'tools/call', '') AS tool_method,
  if(event_type = 'token.presented', concat('tool_', toString(number % 20)), '') AS tool_name,
  if(event_type = 'token.presented', 'POST', '') AS http_method,
  if(event_type = 'token.presented', '/mcp', '') AS http_path,
  if(event_type = 'token.presented', if(decision = 'accepted', 200, 401), NULL) AS http_status
FROM (
  SELECT
    number,
    intDiv(number, ${PER_TOKEN}) AS t,
    number % ${PER_TOKEN} AS k,
    cityHash64(t) AS h,
    toUInt64(t * ({span:UInt64} / {tokens:UInt64}) + bitShiftRight(h, 8) % 60000) AS t0,
    toUInt32(floor(pow((h % 1000003) / 1000003.0, 3) * ${CLIENTS})) AS c,
    bitShiftRight(h, 40) % ${RESOURCES} AS r,
    arrayElement({resources:Array(String)}, r + 1) AS res,
    if(number % 100 = 13, arrayElement({resources:Array(String)}, (r + 1) % ${RESOURCES} + 1), res) AS aud
  FROM numbers({count:UInt64})
)`

/** One finding per ~1000 events, on real rule ids, with its occurrences (the report counts them). */
const FINDINGS_SQL = `
INSERT INTO {{db}}.findings (tenant, finding_id, rule_id, severity, title, keys, token_key,
  client_id, resource, evidence, mappings, first_seen, last_seen, count, updated_at, version)
SELECT
  if(c % 2 = 1, 'quiet', 'heavy') AS tenant,
  lower(hex(MD5(concat(tenant, rule_id, token_key)))) AS finding_id,
  arrayElement({rule_ids:Array(String)}, i) AS rule_id,
  arrayElement({severities:Array(String)}, i) AS severity,
  arrayElement({titles:Array(String)}, i) AS title,
  map('token_key', token_key, 'client_id', client_id, 'resource', resource) AS keys,
  concat('at-', toString(t)) AS token_key,
  concat('agent-', toString(c)) AS client_id,
  arrayElement({resources:Array(String)}, r + 1) AS resource,
  concat('{"event_ids":["', toString(generateUUIDv4(number)), '"],"resource":"', resource, '"}') AS evidence,
  arrayElement({mappings:Array(String)}, i) AS mappings,
  fromUnixTimestamp64Milli(toInt64({start:Int64} + t * ({span:UInt64} / {tokens:UInt64})), 'UTC') AS first_seen,
  first_seen + toIntervalSecond(90 * (number % 8)) AS last_seen,
  1 + number % 7 AS count,
  now64(3) AS updated_at,
  number AS version
FROM (
  SELECT number, (number * 7919) % {tokens:UInt64} AS t, cityHash64(t) AS h,
    toUInt32(floor(pow((h % 1000003) / 1000003.0, 3) * ${CLIENTS})) AS c,
    bitShiftRight(h, 40) % ${RESOURCES} AS r, 1 + number % length({rule_ids:Array(String)}) AS i
  FROM numbers({count:UInt64})
)`

const OCCURRENCES_SQL = `
INSERT INTO {{db}}.finding_occurrences
SELECT tenant, finding_id, concat(finding_id, '-', toString(j)), severity,
  least(first_seen + toIntervalSecond(90 * j), last_seen)
FROM {{db}}.findings
ARRAY JOIN range(toUInt32(count)) AS j`

async function load(storage: ClickHouseStorage): Promise<{ findings: number; ms: number }> {
  const t0 = performance.now()
  const sql = (s: string) => s.replaceAll('{{db}}', storage.database)
  const tokens = Math.ceil(EVENTS / PER_TOKEN)
  await storage.client.command({
    query: sql(EVENTS_SQL),
    query_params: { start, span: SPAN_MS, resources, count: EVENTS, tokens },
    clickhouse_settings: { max_insert_block_size: '1048576' },
  })
  const findings = Math.max(200, Math.round(EVENTS / 1000))
  await storage.client.command({
    query: sql(FINDINGS_SQL),
    query_params: {
      start,
      span: SPAN_MS,
      resources,
      tokens,
      count: findings,
      rule_ids: RULES.map((r) => r.id),
      severities: RULES.map((r) => r.severity),
      titles: RULES.map((r) => r.title),
      mappings: RULES.map((r) => JSON.stringify(r.mappings)),
    },
  })
  await storage.client.command({ query: sql(OCCURRENCES_SQL) })
  for (const table of ['events', 'findings', 'finding_occurrences'])
    await storage.client.command({ query: sql(`OPTIMIZE TABLE {{db}}.${table}`) })
  await settled(storage, 300)
  return { findings, ms: performance.now() - t0 }
}

/** Waits (up to `seconds`) for background merges to end: they would take the cores. */
async function settled(storage: ClickHouseStorage, seconds: number): Promise<void> {
  for (let i = 0; i < seconds; i++) {
    const rs = await storage.client.query({
      query: 'SELECT count() AS n FROM system.merges WHERE database = {db:String}',
      query_params: { db: storage.database },
      format: 'JSONEachRow',
    })
    if (Number((await rs.json<{ n: string }>())[0]!.n) === 0) return
    await new Promise((r) => setTimeout(r, 1000))
  }
}

type Arm = 'quiet' | 'before' | 'after'
const ARMS: Arm[] = ['quiet', 'before', 'after']

interface QuietRun {
  latencies: number[]
  statuses: Record<string, number>
}
interface HeavyRun {
  seconds: number
  ingest: Record<string, number>
  reports: Record<string, number>
  events_accepted: number
}

/** Runs a load generator (`--quiet` or `--heavy`) in a child process, its own event loop. */
function drive<T>(mode: '--quiet' | '--heavy', input: object): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, mode], {
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += String(d)))
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator ${mode} exited with ${code}`))
      resolve(JSON.parse(out) as T)
    })
    child.stdin.end(JSON.stringify(input))
  })
}

const pct = (xs: readonly number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN
}

async function token(
  privateKey: Parameters<SignJWT['sign']>[0],
  tenant: string,
  roles: string[],
  sub: string,
) {
  return new SignJWT({ audtrail_roles: roles, audtrail_tenant: tenant })
    .setProtectedHeader({ alg: 'ES256', kid: 'b' })
    .setSubject(sub)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setExpirationTime('2h')
    .sign(privateKey)
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-fairness-'))
  const storage = createStorage({ database: 'bench', dataDir: dir })
  const apps: FastifyInstance[] = []
  try {
    await migrate(storage, { retention: { eventsDays: 400, rejectedDays: 30, findingsDays: 730 } })
    console.log(`bench:fairness: loading ${EVENTS} events into the embedded engine`)
    const loaded = await load(storage)
    console.log(
      `bench:fairness: ${EVENTS} events, ${loaded.findings} findings in ${(loaded.ms / 1000).toFixed(1)} s`,
    )
    const log = createLogger('warn')
    const sink = createClickHouseSink(storage, { journalDir: join(dir, 'journal'), logger: log })
    const detector = await streamingDetector(storage, undefined, log)
    const target = sinkTarget(sink, detector)
    const { privateKey, publicKey } = await generateKeyPair('ES256')
    const jwk = { ...(await exportJWK(publicKey)), kid: 'b', alg: 'ES256' }
    const config = loadConfig(process.env)
    // Requests still running when a load generator has gone finish before the next arm.
    let inFlight = 0
    const serve = async (fairness: Fairness) => {
      const metrics = new Metrics()
      const authenticate = withFairness(
        rateLimited(
          createAuthenticator({
            keys: createLocalJWKSet({ keys: [jwk] }),
            issuer: ISSUER,
            audience: AUDIENCE,
          }),
          { perSecond: config.api.rateLimit },
        ),
        fairness,
      )
      const app = await buildApp({
        logger: log,
        authenticate,
        metrics,
        readiness: async () => ({}),
        ingest: { target, retentionDays: 400, pipeline: pipelineMetrics(metrics) },
        storage,
      })
      app.addHook('onRequest', async () => void inFlight++)
      app.addHook('onSend', async () => void inFlight--)
      apps.push(app)
      return app.listen({ host: '127.0.0.1', port: 0 })
    }
    const urls: Record<Arm, string> = {
      before: await serve(new Fairness({ sliced: false })),
      after: await serve(fairnessFromConfig(config.api)),
      quiet: '',
    }
    urls.quiet = urls.after
    const tokens = {
      quiet: await token(privateKey, 'quiet', ['viewer'], 'analyst-q'),
      ingest: await token(privateKey, 'heavy', ['ingest'], 'collector-h'),
      report: await token(privateKey, 'heavy', ['viewer'], 'analyst-h'),
    }
    const quietRuns: Record<Arm, QuietRun[]> = { quiet: [], before: [], after: [] }
    const heavyRuns: Record<Arm, HeavyRun[]> = { quiet: [], before: [], after: [] }
    const stalls: Record<Arm, number[]> = { quiet: [], before: [], after: [] }
    // The longest garbage collection pause of this process (the server's) while an arm runs.
    const pauses: Record<Arm, number[]> = { quiet: [], before: [], after: [] }
    let pause = 0
    const gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) pause = Math.max(pause, e.duration)
    })
    gc.observe({ entryTypes: ['gc'] })
    // A warm-up (caches, first queries), not measured.
    await drive<QuietRun>('--quiet', { url: urls.after, token: tokens.quiet, seconds: 3 })
    for (let round = 0; round < ROUNDS; round++) {
      // Each round starts with another arm, so that no arm always follows the same one.
      const order = ARMS.map((_, i) => ARMS[(i + round) % ARMS.length]!)
      for (const arm of order) {
        const loop = monitorEventLoopDelay({ resolution: 10 })
        const heavy =
          arm === 'quiet'
            ? undefined
            : drive<HeavyRun>('--heavy', {
                url: urls[arm],
                ingestToken: tokens.ingest,
                reportToken: tokens.report,
                seconds: WARM_S + SECONDS,
                from: new Date(now - SPAN_MS).toISOString(),
                until: new Date(now).toISOString(),
                run: `${round}${arm}`,
              })
        if (heavy) await new Promise((r) => setTimeout(r, WARM_S * 1000))
        loop.enable()
        pause = 0
        const quiet = await drive<QuietRun>('--quiet', {
          url: urls[arm],
          token: tokens.quiet,
          seconds: SECONDS,
        })
        loop.disable()
        if (heavy) heavyRuns[arm].push(await heavy)
        quietRuns[arm].push(quiet)
        stalls[arm].push(loop.max / 1e6)
        pauses[arm].push(pause)
        while (inFlight > 0) await new Promise((r) => setTimeout(r, 20))
        await settled(storage, 60)
        const h = heavyRuns[arm].at(-1)
        console.log(
          `round ${round + 1} ${arm.padEnd(6)} quiet tenant p50 ${pct(quiet.latencies, 50).toFixed(1).padStart(6)} ms  p95 ${pct(quiet.latencies, 95).toFixed(1).padStart(6)} ms  ${JSON.stringify(quiet.statuses)}  longest stall ${(loop.max / 1e6).toFixed(0)} ms (GC ${pause.toFixed(0)} ms)` +
            (h
              ? `  heavy: ingest ${JSON.stringify(h.ingest)} reports ${JSON.stringify(h.reports)}`
              : ''),
        )
      }
    }
    const figures = Object.fromEntries(
      ARMS.map((arm) => {
        const xs = quietRuns[arm].flatMap((r) => r.latencies)
        const statuses: Record<string, number> = {}
        for (const r of quietRuns[arm])
          for (const [s, n] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + n
        const hs = heavyRuns[arm]
        const seconds = hs.reduce((a, h) => a + h.seconds, 0)
        const sum = (pick: (h: HeavyRun) => Record<string, number>, status: string) =>
          hs.reduce((a, h) => a + (pick(h)[status] ?? 0), 0)
        return [
          arm,
          {
            requests: xs.length,
            p50_ms: +pct(xs, 50).toFixed(1),
            p95_ms: +pct(xs, 95).toFixed(1),
            p99_ms: +pct(xs, 99).toFixed(1),
            p95_ms_per_round: quietRuns[arm].map((r) => +pct(r.latencies, 95).toFixed(1)),
            non_200: xs.length - (statuses['200'] ?? 0),
            longest_stall_ms: +Math.max(...stalls[arm]).toFixed(0),
            longest_gc_pause_ms: +Math.max(...pauses[arm]).toFixed(0),
            ...(hs.length > 0
              ? {
                  heavy_events_per_s: Math.round(
                    hs.reduce((a, h) => a + h.events_accepted, 0) / seconds,
                  ),
                  heavy_ingests_200: sum((h) => h.ingest, '200'),
                  heavy_ingests_429: sum((h) => h.ingest, '429'),
                  heavy_reports_200: sum((h) => h.reports, '200'),
                  heavy_reports_429: sum((h) => h.reports, '429'),
                }
              : {}),
          },
        ]
      }),
    ) as unknown as Record<Arm, { p50_ms: number; p95_ms: number; p99_ms: number }>
    const ratio = (arm: Arm, p: 'p50_ms' | 'p95_ms') =>
      +(figures[arm][p] / figures.quiet[p]).toFixed(2)
    gc.disconnect()
    console.log('')
    console.log('arm     quiet tenant p50     p95     p99   (ms)   p95 vs quiet')
    for (const arm of ARMS)
      console.log(
        `${arm.padEnd(7)} ${figures[arm].p50_ms.toFixed(1).padStart(17)} ${figures[arm].p95_ms.toFixed(1).padStart(7)} ${figures[arm].p99_ms.toFixed(1).padStart(7)}   ${ratio(arm, 'p95_ms').toFixed(2).padStart(11)}x`,
      )
    const after = ratio('after', 'p95_ms')
    console.log(
      `after: p95 ${after}x quiet (target <= ${TARGET_RATIO}x): ${after <= TARGET_RATIO ? 'met' : 'NOT MET'}; before: ${ratio('before', 'p95_ms')}x`,
    )
    console.log(
      JSON.stringify({
        bench: 'fairness',
        events: EVENTS,
        seconds_per_arm: SECONDS,
        rounds: ROUNDS,
        quiet_rate: QUIET_RATE,
        ingest_loops: INGEST_LOOPS,
        report_loops: REPORT_LOOPS,
        ...figures,
        ratio_p95_before: ratio('before', 'p95_ms'),
        ratio_p95_after: after,
        ratio_p50_before: ratio('before', 'p50_ms'),
        ratio_p50_after: ratio('after', 'p50_ms'),
        target_ratio: TARGET_RATIO,
        met: after <= TARGET_RATIO,
      }),
    )
  } finally {
    await Promise.all(apps.map((a) => a.close()))
    await storage.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// Load generators (child processes).

type Autocannon = (
  opts: Record<string, unknown>,
  cb: (err: Error | null) => void,
) => {
  on(event: 'response', fn: (c: unknown, status: number, b: number, ms: number) => void): void
}

async function input<T>(): Promise<T> {
  let text = ''
  for await (const chunk of process.stdin) text += String(chunk)
  return JSON.parse(text) as T
}

/** `--quiet`: the quiet tenant's findings list at QUIET_RATE a second, every latency recorded. */
async function runQuiet(): Promise<void> {
  const { url, token, seconds } = await input<{ url: string; token: string; seconds: number }>()
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon
  const latencies: number[] = []
  const statuses: Record<string, number> = {}
  await new Promise<void>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${url}/v1/findings?limit=50`,
        connections: 4,
        overallRate: QUIET_RATE,
        duration: seconds,
        headers: { authorization: `Bearer ${token}` },
      },
      (err) => (err ? reject(err) : resolve()),
    )
    instance.on('response', (_c, status, _b, ms) => {
      latencies.push(ms)
      statuses[status] = (statuses[status] ?? 0) + 1
    })
  })
  process.stdout.write(JSON.stringify({ latencies, statuses } satisfies QuietRun))
}

/**
 * `--heavy`: the heavy tenant at its heaviest: INGEST_LOOPS clients posting 10 000 new events at
 * a time and REPORT_LOOPS clients asking for 30-day reports, each again as soon as it is answered,
 * or after Retry-After on a 429.
 */
async function runHeavy(): Promise<void> {
  const args = await input<{
    url: string
    ingestToken: string
    reportToken: string
    seconds: number
    from: string
    until: string
    run: string
  }>()
  const deadline = Date.now() + args.seconds * 1000
  // One body; each request writes its own number over the first 8 hex digits of every event id.
  const MARK = 'MARKMARK'
  const text = JSON.stringify(
    Array.from({ length: BODY_EVENTS }, () =>
      benchEvent({ tenant: 'heavy', event_id: `${MARK}${randomUUID().slice(8)}` }),
    ),
  )
  const template = Buffer.from(text)
  const marks: number[] = []
  for (let at = template.indexOf(MARK); at !== -1; at = template.indexOf(MARK, at + 1))
    marks.push(at)
  let sent = 0
  const salt = parseInt(randomUUID().slice(0, 4), 16) << 16
  const body = () => {
    const copy = Buffer.from(template)
    const id = ((salt + sent++) >>> 0).toString(16).padStart(8, '0')
    for (const at of marks) copy.write(id, at, 'latin1')
    return copy
  }
  const nap = (s: number) =>
    new Promise((r) => setTimeout(r, Math.max(0, Math.min(s * 1000, deadline - Date.now()))))
  const ingest: Record<string, number> = {}
  const reports: Record<string, number> = {}
  let accepted = 0
  const loop = async (
    count: Record<string, number>,
    request: () => Promise<Response>,
    answered: (res: Response) => Promise<void>,
  ) => {
    while (Date.now() < deadline) {
      const res = await request()
      count[res.status] = (count[res.status] ?? 0) + 1
      if (res.status === 429) {
        await res.arrayBuffer()
        await nap(Number(res.headers.get('retry-after') ?? 1))
      } else await answered(res)
    }
  }
  const t0 = Date.now()
  await Promise.all([
    ...Array.from({ length: INGEST_LOOPS }, () =>
      loop(
        ingest,
        () =>
          fetch(`${args.url}/v1/ingest`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${args.ingestToken}`,
              'content-type': 'application/json',
            },
            body: body(),
          }),
        async (res) => {
          const answer = (await res.json()) as { accepted?: number }
          accepted += answer.accepted ?? 0
        },
      ),
    ),
    ...Array.from({ length: REPORT_LOOPS }, () =>
      loop(
        reports,
        () =>
          fetch(
            `${args.url}/v1/reports/compliance?framework=all&since=${args.from}&until=${args.until}`,
            { headers: { authorization: `Bearer ${args.reportToken}` } },
          ),
        async (res) => void (await res.arrayBuffer()),
      ),
    ),
  ])
  process.stdout.write(
    JSON.stringify({
      seconds: (Date.now() - t0) / 1000,
      ingest,
      reports,
      events_accepted: accepted,
    } satisfies HeavyRun),
  )
}

if (process.argv[2] === '--quiet') await runQuiet()
else if (process.argv[2] === '--heavy') await runHeavy()
else await main()
