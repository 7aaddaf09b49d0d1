/**
 * bench:api — load BENCH_EVENTS (default 10 000 000) events and their findings into a fresh
 * embedded engine with INSERT ... SELECT FROM numbers() into `events` (about 2k clients with a
 * skewed distribution, 50 resources with raw spelling variants, tokens of 8 events each, 30 days):
 * the write path of production from `events` on, every materialized view filling its rollup from
 * the inserted blocks as it does for the consumer's inserts. Then it serves the API on loopback
 * with JWT auth and drives each endpoint with autocannon in a child process: p50/p95/p99 and req/s
 * per endpoint, ending with one JSON line.
 *
 * Several sizes in one run (issue 32): BENCH_EVENTS=10000000,30000000 loads and measures each size
 * in a process of its own (one embedded engine per process), one after the other, then prints each
 * endpoint's p95 per size and its growth from the first size to each other, the load times and the
 * disk used per million events. The JSON line holds `p95_ms` (per endpoint: per size and
 * `growth`), `load_s`, `disk_mib_per_million` and `runs` (every figure of each size).
 *
 * BENCH_SECONDS (per endpoint, default 10) and BENCH_CONNECTIONS (default 4) override; BENCH_ONLY
 * and BENCH_DATA_DIR (below) are for working on one endpoint. BENCH_FINDINGS sets the number of
 * findings, one for every size or one per size (`10000,30000`; default one per 1 000 events, at
 * least 100). BENCH_DATA_DIR keeps the data: one
 * directory for one size; for several, a comma-separated list (one per size, in order) or one
 * directory that gets a subdirectory per size (`events-N`).
 * Targets (issue 32): every list endpoint p95 <= 100 ms up to 10M events and <= 150 ms above; the
 * 30-day report p95 <= 2 s.
 * The report arm also fetches the 30-day HTML report (format=html) three times: its size and the
 * server's time, and, when a Chromium is found (scripts/chromium.mjs path), the time the browser
 * takes to lay it out; then the JSON and the CSV three times each (size and server time, the JSON
 * line's `compliance_report_html.formats`).
 */
import { spawn, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose'
import { buildApp } from '../src/api/app.js'
import { createAuthenticator } from '../src/api/auth.js'
import { RULES } from '../src/detection/rules/index.js'
import { canonicalizeResource } from '../src/events/resource.js'
import { createLogger } from '../src/logger.js'
import { Metrics } from '../src/metrics.js'
import { createStorage, type ClickHouseStorage } from '../src/storage/client.js'
import { migrate } from '../src/storage/migrate.js'
import { sealAllTenants } from '../src/storage/report-seal.js'

const SIZES = (process.env.BENCH_EVENTS ?? '10000000')
  .split(',')
  .filter((x) => x.trim() !== '')
  .map((x) => Number(x.replaceAll('_', '')))
/** The size this process measures (a child measures one of SIZES). */
const EVENTS = SIZES[0]!
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4)
const CLIENTS = 2000
const RESOURCES = 50
const PER_TOKEN = 8
const DAY_MS = 86_400_000
const SPAN_MS = 30 * DAY_MS
const CHUNK = 2_000_000
const ISSUER = 'https://idp.bench.invalid'
const AUDIENCE = 'https://audtrail.bench.invalid/api'
/** Issue 32: every list endpoint p95 <= 100 ms at 10M events, <= 150 ms at 30M. */
const TARGET_LIST_MS = EVENTS <= 10_000_000 ? 100 : 150
const TARGET_REPORT_MS = 2000
const SELF = fileURLToPath(import.meta.url)
/**
 * BENCH_FINDINGS: one number for every size, or one per size of BENCH_EVENTS (comma-separated, in
 * the same order: `BENCH_EVENTS=10000000,30000000 BENCH_FINDINGS=10000,30000`); unset, one finding
 * per 1 000 events (at least 100). A child process gets its size's number alone.
 */
const FINDINGS_PER_SIZE = (process.env.BENCH_FINDINGS ?? '')
  .split(',')
  .filter((x) => x.trim() !== '')
  .map((x) => Number(x.replaceAll('_', '')))
if (FINDINGS_PER_SIZE.length > 1 && FINDINGS_PER_SIZE.length !== SIZES.length)
  throw new Error('BENCH_FINDINGS: one number, or one per size of BENCH_EVENTS')
const FINDINGS: number | undefined = FINDINGS_PER_SIZE[0]
/** The findings of the i-th size (undefined: one per 1 000 events). */
const findingsOf = (i: number) => FINDINGS_PER_SIZE[FINDINGS_PER_SIZE.length === 1 ? 0 : i]

const now = Date.now()
const start = now - SPAN_MS
const resources = Array.from({ length: RESOURCES }, (_, i) => `https://mcp-${i}.example.com/mcp`)
const spelled = resources.map((r) => canonicalizeResource(`${r}/`))

/**
 * One row per `number`: token t = number / 8 (event 0 is its issuance, the rest presentations,
 * about 1% exchanges); the token fixes client (skewed: a few clients carry most traffic), tenant,
 * resource and start time; 2.4% of spellings have a trailing slash, 1% of presentations carry
 * another resource's audience, 3% are rejected.
 */
const EVENTS_SQL = `
INSERT INTO {{db}}.events (tenant, event_id, event_type, schema_version, occurred_at, received_at,
  source_kind, source_id, issuer, client_id, subject, token_key, token_key_kind, token_jti,
  token_iat, token_exp, token_aud, token_aud_canonical, token_scopes, token_format, network_ip,
  grant_type, requested_resources, requested_resources_canonical, requested_resources_drift,
  requested_scopes, granted_aud, granted_aud_canonical, granted_aud_drift, granted_scopes, resource,
  resource_canonical, resource_drift_key, resource_valid, presented_aud, presented_aud_canonical,
  presented_aud_drift, aud_match, aud_validated, decision, reason, tool_method, tool_name,
  http_method, http_path, http_status, subject_token_key, subject_token_jti)
SELECT
  if(c % 10 = 9, 'other', 'bench') AS tenant,
  generateUUIDv4(number) AS event_id,
  if(k = 0, 'token.issued', if(number % 97 = 3, 'token.exchanged', 'token.presented')) AS event_type,
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
  if(event_type = 'token.presented', [], [raw]) AS requested_resources,
  if(event_type = 'token.presented', [], [res]) AS requested_resources_canonical,
  if(event_type = 'token.presented', [], [res]) AS requested_resources_drift,
  if(event_type = 'token.issued', ['tools.read'], []) AS requested_scopes,
  if(event_type = 'token.presented', [], [raw]) AS granted_aud,
  if(event_type = 'token.presented', [], [res]) AS granted_aud_canonical,
  if(event_type = 'token.presented', [], [res]) AS granted_aud_drift,
  if(event_type = 'token.issued', ['tools.read'], []) AS granted_scopes,
  if(event_type = 'token.presented', raw, '') AS resource,
  if(event_type = 'token.presented', canon, '') AS resource_canonical,
  if(event_type = 'token.presented', res, '') AS resource_drift_key,
  event_type = 'token.presented' AS resource_valid,
  if(event_type = 'token.presented', [aud], []) AS presented_aud,
  if(event_type = 'token.presented', [aud], []) AS presented_aud_canonical,
  if(event_type = 'token.presented', [aud], []) AS presented_aud_drift,
  if(event_type != 'token.presented', '', if(aud = res, if(raw = res, 'identical', 'variant'), 'different')) AS aud_match,
  if(event_type = 'token.presented', number % 50 != 7, NULL) AS aud_validated,
  if(event_type != 'token.presented', '', if(number % 33 = 5 OR aud != res, 'rejected', 'accepted')) AS decision,
  if(decision = '', '', if(decision = 'accepted', 'ok', 'aud_mismatch')) AS reason,
  if(event_type = 'token.presented', 'tools/call', '') AS tool_method,
  if(event_type = 'token.presented', concat('tool_', toString(number % 20)), '') AS tool_name,
  if(event_type = 'token.presented', 'POST', '') AS http_method,
  if(event_type = 'token.presented', '/mcp', '') AS http_path,
  if(event_type = 'token.presented', if(decision = 'accepted', 200, 401), NULL) AS http_status,
  if(event_type = 'token.exchanged', concat('at-', toString(t - 1)), '') AS subject_token_key,
  subject_token_key AS subject_token_jti
FROM (
  SELECT
    number,
    intDiv(number, ${PER_TOKEN}) AS t,
    number % ${PER_TOKEN} AS k,
    cityHash64(t) AS h,
    -- Tokens start in number order, a minute of jitter apart: a pipeline stores events about
    -- when they occur, so parts hold neighbouring times (random times across every part would
    -- make each day's rows live in every part).
    toUInt64(t * ({span:UInt64} / {tokens:UInt64}) + bitShiftRight(h, 8) % 60000) AS t0,
    toUInt32(floor(pow((h % 1000003) / 1000003.0, 3) * ${CLIENTS})) AS c,
    bitShiftRight(h, 40) % ${RESOURCES} AS r,
    arrayElement({resources:Array(String)}, r + 1) AS res,
    if(number % 41 = 0, arrayElement({slashed:Array(String)}, r + 1), res) AS raw,
    if(number % 41 = 0, raw, res) AS canon,
    if(number % 100 = 13, arrayElement({resources:Array(String)}, (r + 1) % ${RESOURCES} + 1), res) AS aud
  FROM numbers({from:UInt64}, {count:UInt64})
)`

/** One finding per ~1000 events, on real rule ids, keyed to tokens and clients that exist. */
const FINDINGS_SQL = `
INSERT INTO {{db}}.findings (tenant, finding_id, rule_id, severity, title, keys, token_key,
  client_id, resource, evidence, mappings, first_seen, last_seen, count, updated_at, version)
SELECT
  if(c % 10 = 9, 'other', 'bench') AS tenant,
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

/** The occurrences of each finding (its count of them, from first to last seen): the report counts them. */
const OCCURRENCES_SQL = `
INSERT INTO {{db}}.finding_occurrences
SELECT tenant, finding_id, concat(finding_id, '-', toString(j)), severity,
  least(first_seen + toIntervalSecond(90 * j), last_seen)
FROM {{db}}.findings
ARRAY JOIN range(toUInt32(count)) AS j`

const TRIAGE_SQL = `
INSERT INTO {{db}}.finding_triage
SELECT tenant, finding_id, 'acknowledged', 'looked at', 'alice', now64(3), 'bench', 1
FROM {{db}}.findings WHERE cityHash64(finding_id) % 10 = 0`

/**
 * BENCH_DATA_DIR keeps the data directory: a later run with the same BENCH_EVENTS reuses its
 * events and findings (their times then lag the clock by the time in between).
 */
async function reuse(storage: ClickHouseStorage): Promise<Loaded | undefined> {
  const rs = await storage.client.query({
    query: `SELECT (SELECT count() FROM ${storage.database}.events) AS events,
                   (SELECT count() FROM ${storage.database}.findings) AS findings`,
    format: 'JSONEachRow',
  })
  const [c] = await rs.json<{ events: string; findings: string }>()
  // Events of another size, or of a load that stopped part way: loading on top of them would
  // measure neither.
  if (Number(c!.events) !== 0 && Number(c!.events) !== EVENTS)
    throw new Error(
      `${process.env.BENCH_DATA_DIR} holds ${c!.events} events, not ${EVENTS}: remove it or name another directory`,
    )
  if (Number(c!.events) !== EVENTS) return undefined
  console.log(`bench:api: reusing ${EVENTS} events in ${process.env.BENCH_DATA_DIR}`)
  if (FINDINGS !== undefined && Number(c!.findings) !== FINDINGS) {
    // Another number of findings asked (BENCH_FINDINGS): the events kept, the findings, their
    // occurrences and triage replaced (loading the events again on top would double them).
    console.log(`bench:api: replacing its ${c!.findings} findings with ${FINDINGS}`)
    for (const table of ['findings', 'finding_occurrences', 'finding_triage'])
      await storage.client.command({ query: `TRUNCATE TABLE ${storage.database}.${table}` })
    const t0 = performance.now()
    const findings = await loadFindings(storage)
    return {
      events: EVENTS,
      findings,
      ms: 0,
      reused: true,
      findings_s: (performance.now() - t0) / 1000,
    }
  }
  return { events: EVENTS, findings: Number(c!.findings), ms: 0, reused: true }
}

interface Loaded {
  events: number
  findings: number
  ms: number
  /** the data came from an earlier run (BENCH_DATA_DIR): no load time */
  reused?: boolean
  /** reused events with their findings replaced (another BENCH_FINDINGS): the time that took */
  findings_s?: number
}

/** Bytes on disk of the database's active parts: all tables, and `events` alone. */
async function diskUsed(storage: ClickHouseStorage) {
  const rs = await storage.client.query({
    query: `SELECT sum(bytes_on_disk) AS total, sumIf(bytes_on_disk, table = 'events') AS events
            FROM system.parts WHERE database = {db:String} AND active`,
    query_params: { db: storage.database },
    format: 'JSONEachRow',
  })
  const [row] = await rs.json<{ total: string; events: string }>()
  return { total: Number(row?.total ?? 0), events: Number(row?.events ?? 0) }
}

async function load(storage: ClickHouseStorage): Promise<Loaded> {
  console.log(`bench:api: loading ${EVENTS} events into the embedded engine`)
  const t0 = performance.now()
  const sql = (s: string) => s.replaceAll('{{db}}', storage.database)
  for (let from = 0; from < EVENTS; from += CHUNK) {
    await storage.client.command({
      query: sql(EVENTS_SQL),
      query_params: {
        start,
        span: SPAN_MS,
        resources,
        slashed: spelled.map((s) => s.raw),
        from,
        count: Math.min(CHUNK, EVENTS - from),
        tokens: Math.ceil(EVENTS / PER_TOKEN),
      },
      clickhouse_settings: { max_insert_block_size: '1048576' },
    })
    process.stdout.write(`  loaded ${Math.min(from + CHUNK, EVENTS)} events\n`)
  }
  const findings = await loadFindings(storage)
  // Merge parts as a long-running deployment would have them (FINAL reads stay honest: no OPTIMIZE
  // FINAL per partition would hide duplicates, there are none), the rollups' too.
  for (const table of [
    'events',
    'token_usage_hourly',
    'client_usage_daily',
    'client_activity_blocks',
    'resource_usage_daily',
    'token_locations',
  ])
    await storage.client.command({ query: sql(`OPTIMIZE TABLE {{db}}.${table}`) })
  await settled(storage)
  return { events: EVENTS, findings, ms: performance.now() - t0 }
}

/** The findings (BENCH_FINDINGS, or one per 1 000 events), their occurrences and triage. */
async function loadFindings(storage: ClickHouseStorage): Promise<number> {
  const sql = (s: string) => s.replaceAll('{{db}}', storage.database)
  const findings = FINDINGS ?? Math.max(100, Math.round(EVENTS / 1000))
  await storage.client.command({
    query: sql(FINDINGS_SQL),
    query_params: {
      start,
      span: SPAN_MS,
      resources,
      tokens: Math.ceil(EVENTS / PER_TOKEN),
      count: findings,
      rule_ids: RULES.map((r) => r.id),
      severities: RULES.map((r) => r.severity),
      titles: RULES.map((r) => r.title),
      mappings: RULES.map((r) => JSON.stringify(r.mappings)),
    },
  })
  await storage.client.command({ query: sql(OCCURRENCES_SQL) })
  await storage.client.command({ query: sql(TRIAGE_SQL) })
  return findings
}

/** Waits (up to 5 min) for background merges to end: they would take the cores from the API. */
async function settled(storage: ClickHouseStorage): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const rs = await storage.client.query({
      query: 'SELECT count() AS n FROM system.merges WHERE database = {db:String}',
      query_params: { db: storage.database },
      format: 'JSONEachRow',
    })
    if (Number((await rs.json<{ n: string }>())[0]!.n) === 0) return
    await new Promise((r) => setTimeout(r, 1000))
  }
}

interface Endpoint {
  name: string
  target: number
  paths: () => string
  /**
   * The report: one analyst at a time, for longer (four at once on two cores queue for longer than
   * a run, and requests still open when it ends are not counted).
   */
  alone?: boolean
}

const pick = (n: number) => Math.floor(Math.random() * n)
/** A client weighted like the data (the same skew), in tenant bench. */
function benchClient(): string {
  for (;;) {
    const c = Math.floor(Math.random() ** 3 * CLIENTS)
    if (c % 10 !== 9) return `agent-${c}`
  }
}
const iso = (ms: number) => new Date(ms).toISOString()

const ENDPOINTS: Endpoint[] = [
  { name: 'findings list', target: TARGET_LIST_MS, paths: () => '/v1/findings?limit=50' },
  {
    name: 'findings list (severity filter)',
    target: TARGET_LIST_MS,
    paths: () => `/v1/findings?limit=50&severity=${['high', 'critical', 'medium'][pick(3)]}`,
  },
  {
    name: 'findings list (sort by severity, then count)',
    target: TARGET_LIST_MS,
    paths: () => `/v1/findings?limit=50&sort=${['-severity', '-count', 'first_seen'][pick(3)]}`,
  },
  {
    name: 'findings list (text filter q)',
    target: TARGET_LIST_MS,
    // A client, a resource host or a word of a title: what an analyst types.
    paths: () =>
      `/v1/findings?limit=50&q=${encodeURIComponent([benchClient(), `mcp-${pick(RESOURCES)}.example`, 'replay'][pick(3)]!)}`,
  },
  {
    name: 'token timeline',
    target: TARGET_LIST_MS,
    paths: () => `/v1/tokens/at-${pick(Math.ceil(EVENTS / PER_TOKEN))}`,
  },
  {
    name: 'events by client and time range',
    target: TARGET_LIST_MS,
    paths: () => {
      const from = start + pick(29) * DAY_MS
      return `/v1/events?client=${benchClient()}&since=${iso(from)}&until=${iso(from + DAY_MS)}&limit=100`
    },
  },
  { name: 'resource inventory', target: TARGET_LIST_MS, paths: () => '/v1/resources' },
  { name: 'client usage', target: TARGET_LIST_MS, paths: () => '/v1/clients' },
  {
    name: 'compliance report (30 days)',
    target: TARGET_REPORT_MS,
    paths: () => `/v1/reports/compliance?framework=all&since=${iso(start)}&until=${iso(now)}`,
    alone: true,
  },
]

/** Runs the load generator in a child process (its own event loop, like a real client). */
function drive(url: string, token: string, e: Endpoint, seconds: number, connections: number) {
  const paths = Array.from({ length: 2000 }, e.paths)
  return new Promise<ReturnType<typeof summarise>>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--load'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += String(d)))
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`))
      resolve(summarise(JSON.parse(out)))
    })
    child.stdin.end(JSON.stringify({ url, token, paths, seconds, connections }))
  })
}

function summarise(r: { latencies: number[]; statuses: Record<string, number>; seconds: number }) {
  const xs = [...r.latencies].sort((a, b) => a - b)
  const pct = (p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN
  return {
    requests: xs.length,
    p50: pct(50),
    p95: pct(95),
    p99: pct(99),
    rps: xs.length / r.seconds,
    statuses: r.statuses,
  }
}

/** The data directory of each size (undefined: a temporary one), from BENCH_DATA_DIR. */
function dataDirs(): (string | undefined)[] {
  const given = process.env.BENCH_DATA_DIR?.split(',').filter(Boolean) ?? []
  if (given.length === 0) return SIZES.map(() => undefined)
  if (given.length === SIZES.length) return given
  if (given.length === 1) return SIZES.map((n) => join(given[0]!, `events-${n}`))
  throw new Error('BENCH_DATA_DIR: one directory, or one per size of BENCH_EVENTS')
}

const SIZE_LINE = 'bench:api:size '

/** What one size's process reports to the parent. */
interface SizeFigures {
  events: number
  findings: number
  /** reused events whose findings were replaced (another BENCH_FINDINGS): seconds it took */
  findings_load_s?: number
  load_s: number | null
  disk_bytes: number
  events_disk_bytes: number
  disk_mib_per_million: number
  endpoints: Record<string, Record<string, number>>
  compliance_report_html?: Awaited<ReturnType<typeof measureHtml>> & {
    target_bytes: number
    target_ms: number
  }
}

/**
 * Every size in a process of its own, one after the other; then the p95 of each endpoint per
 * size and its growth from the first size, the load times and the disk per million events.
 */
async function main() {
  const dirs = dataDirs()
  const runs: SizeFigures[] = []
  for (const [i, n] of SIZES.entries()) {
    console.log(`bench:api: ${n} events (${i + 1} of ${SIZES.length})`)
    runs.push(await measureSize(n, dirs[i], findingsOf(i)))
  }
  const mib = (b: number) => b / 1024 / 1024
  const label = (n: number) => (n % 1_000_000 === 0 ? `${n / 1_000_000}M` : String(n))
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.endpoints)))]
  const first = runs[0]!
  const p95: Record<string, Record<string, number | null>> = {}
  console.log(
    `\n${'p95 per size'.padEnd(44)}${runs.map((r) => label(r.events).padStart(10)).join('')}` +
      runs
        .slice(1)
        .map((r) => `  ${label(r.events)}/${label(first.events)}`.padStart(12))
        .join(''),
  )
  for (const name of names) {
    // A run that finished no request has no p95 (null in its JSON).
    const p95Of = (r: SizeFigures) => {
      const v = r.endpoints[name]?.p95_ms
      return typeof v === 'number' && Number.isFinite(v) ? v : undefined
    }
    const at = runs.map(p95Of)
    const growth = runs.slice(1).map((r) => {
      const [a, b] = [p95Of(first), p95Of(r)]
      return a === undefined || b === undefined ? undefined : b / a
    })
    p95[name] = {
      ...Object.fromEntries(runs.map((r, j) => [String(r.events), at[j] ?? null])),
      ...(runs.length > 1
        ? Object.fromEntries(
            runs
              .slice(1)
              .map((r, j) => [
                runs.length === 2 ? 'growth' : `growth_${r.events}`,
                growth[j] === undefined ? null : +growth[j]!.toFixed(2),
              ]),
          )
        : {}),
    }
    console.log(
      `${name.padEnd(44)}${at.map((x) => (x === undefined ? '-' : `${x.toFixed(1)} ms`).padStart(10)).join('')}` +
        growth.map((g) => (g === undefined ? '-' : `${g.toFixed(2)}x`).padStart(12)).join(''),
    )
  }
  for (const r of runs)
    console.log(
      `${label(r.events)}: ${r.findings} findings, load ${r.load_s === null ? 'reused' : `${r.load_s} s`}, ` +
        `disk ${mib(r.disk_bytes).toFixed(0)} MiB (events ${mib(r.events_disk_bytes).toFixed(0)} MiB), ` +
        `${r.disk_mib_per_million.toFixed(1)} MiB per million events`,
    )
  console.log(
    JSON.stringify({
      bench: 'api',
      sizes: runs.map((r) => r.events),
      seconds_per_endpoint: SECONDS,
      connections: CONNECTIONS,
      report_connections: 1,
      target_p95_ms: { list_at_10m: 100, list_above_10m: 150, report: TARGET_REPORT_MS },
      p95_ms: p95,
      load_s: Object.fromEntries(runs.map((r) => [String(r.events), r.load_s])),
      findings: Object.fromEntries(runs.map((r) => [String(r.events), r.findings])),
      disk_mib_per_million: Object.fromEntries(
        runs.map((r) => [String(r.events), +r.disk_mib_per_million.toFixed(2)]),
      ),
      runs: Object.fromEntries(runs.map((r) => [String(r.events), r])),
    }),
  )
}

/** One size, in a child process: its output passed through, its figures returned. */
function measureSize(
  events: number,
  dir: string | undefined,
  findings: number | undefined,
): Promise<SizeFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--size'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        BENCH_EVENTS: String(events),
        BENCH_FINDINGS: findings === undefined ? '' : String(findings),
        ...(dir === undefined ? {} : { BENCH_DATA_DIR: dir }),
      },
    })
    if (dir === undefined) delete (child as { env?: unknown }).env
    let figures: SizeFigures | undefined
    let rest = ''
    child.stdout.on('data', (d) => {
      rest += String(d)
      const lines = rest.split('\n')
      rest = lines.pop()!
      for (const line of lines)
        if (line.startsWith(SIZE_LINE)) figures = JSON.parse(line.slice(SIZE_LINE.length))
        else console.log(line)
    })
    child.on('exit', (code) => {
      if (code !== 0 || !figures)
        return reject(new Error(`bench:api at ${events} events exited with ${code}`))
      resolve(figures)
    })
  })
}

/** One size (BENCH_EVENTS holds one number here): load or reuse, measure, report to the parent. */
async function measureOne() {
  const kept = process.env.BENCH_DATA_DIR
  if (kept) mkdirSync(kept, { recursive: true })
  const dir = kept ?? mkdtempSync(join(tmpdir(), 'bench-api-'))
  const storage = createStorage({ database: 'bench', dataDir: dir })
  try {
    await migrate(storage, { retention: { eventsDays: 400, rejectedDays: 30, findingsDays: 730 } })
    const loaded = (kept && (await reuse(storage))) || (await load(storage))
    console.log(
      `bench:api: ${loaded.events} events, ${loaded.findings} findings ` +
        (loaded.findings_s === undefined
          ? `in ${(loaded.ms / 1000).toFixed(1)} s`
          : `(events reused, findings replaced in ${loaded.findings_s.toFixed(1)} s)`),
    )
    // The report's sealing job (migration 0020), as a deployment runs it daily: the days before
    // yesterday sealed, the last two read from the rollup. A reused directory seals only what
    // changed (nothing, usually).
    const sealT0 = performance.now()
    let sealedDays = 0
    for (const t of (await sealAllTenants(storage, { now: Date.now(), clockSkewS: 60 })).tenants) {
      if (t.error) throw new Error(`sealing ${t.tenant}'s report days: ${t.error}`)
      sealedDays += t.sealed.length
    }
    console.log(
      `bench:api: sealed ${sealedDays} report days in ${((performance.now() - sealT0) / 1000).toFixed(1)} s`,
    )
    const { privateKey, publicKey } = await generateKeyPair('ES256')
    const jwk = { ...(await exportJWK(publicKey)), kid: 'b', alg: 'ES256' }
    const app = await buildApp({
      logger: createLogger('warn'),
      authenticate: createAuthenticator({
        keys: createLocalJWKSet({ keys: [jwk] }),
        issuer: ISSUER,
        audience: AUDIENCE,
      }),
      metrics: new Metrics(),
      readiness: async () => ({}),
      storage,
    })
    // Requests still running when a load run ends (its client gone) finish before the next run.
    // Counted down when the handler has its answer (onSend): onResponse waits for the socket's
    // 'finish', which never comes for a request whose client hung up, and the count stuck at 1.
    let inFlight = 0
    app.addHook('onRequest', async () => void inFlight++)
    app.addHook('onSend', async () => void inFlight--)
    const drained = async () => {
      while (inFlight > 0) await new Promise((r) => setTimeout(r, 20))
    }
    const url = await app.listen({ host: '127.0.0.1', port: 0 })
    const token = await new SignJWT({ audtrail_roles: ['viewer'], audtrail_tenant: 'bench' })
      .setProtectedHeader({ alg: 'ES256', kid: 'b' })
      .setSubject('bench')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('2h')
      .sign(privateKey)
    const results: Record<string, ReturnType<typeof summarise> & { target_p95: number }> = {}
    // BENCH_ONLY=timeline,usage: only the endpoints whose names contain one of these words.
    const only = process.env.BENCH_ONLY?.split(',').filter(Boolean)
    for (const e of ENDPOINTS.filter((x) => !only || only.some((w) => x.name.includes(w)))) {
      await drive(url, token, e, 2, 1) // warm-up: caches and first-query costs, not measured
      await drained()
      const r = e.alone
        ? await drive(url, token, e, SECONDS * 3, 1)
        : await drive(url, token, e, SECONDS, CONNECTIONS)
      await drained()
      results[e.name] = { ...r, target_p95: e.target }
      // 404: a token of the other tenant, which the timeline must not show.
      const failed = Object.keys(r.statuses).filter((s) => s !== '200' && s !== '404')
      const verdict =
        failed.length > 0
          ? `FAILS: answered ${failed.join(', ')}`
          : r.p95 <= e.target
            ? 'ok'
            : `MISSES p95 <= ${e.target} ms`
      console.log(
        `${e.name.padEnd(34)} p50 ${r.p50.toFixed(1).padStart(7)} ms  p95 ${r.p95.toFixed(1).padStart(7)} ms  p99 ${r.p99.toFixed(1).padStart(7)} ms  ${r.rps.toFixed(1).padStart(7)} req/s  ${JSON.stringify(r.statuses)}  ${verdict}`,
      )
    }
    const html =
      !only || only.some((w) => 'compliance report html'.includes(w))
        ? await measureHtml(url, token)
        : undefined
    await app.close()
    const figures = Object.fromEntries(
      Object.entries(results).map(([name, r]) => [
        name.replace(/[^a-z0-9]+/g, '_').replace(/_$/, ''),
        {
          p50_ms: +r.p50.toFixed(1),
          p95_ms: +r.p95.toFixed(1),
          p99_ms: +r.p99.toFixed(1),
          rps: +r.rps.toFixed(1),
          target_p95_ms: r.target_p95,
          non_200: r.requests - (r.statuses['200'] ?? 0),
        },
      ]),
    )
    const disk = await diskUsed(storage)
    const size: SizeFigures = {
      events: loaded.events,
      findings: loaded.findings,
      load_s: loaded.reused ? null : +(loaded.ms / 1000).toFixed(1),
      ...(loaded.findings_s === undefined
        ? {}
        : { findings_load_s: +loaded.findings_s.toFixed(1) }),
      disk_bytes: disk.total,
      events_disk_bytes: disk.events,
      disk_mib_per_million: disk.total / 1024 / 1024 / (loaded.events / 1_000_000),
      endpoints: figures,
      ...(html ? { compliance_report_html: html } : {}),
    }
    console.log(SIZE_LINE + JSON.stringify(size))
  } finally {
    await storage.close()
    if (!kept) rmSync(dir, { recursive: true, force: true })
  }
}

/** One format of the 30-day report of every framework, three times: its size and the server's time (median). */
async function fetchReport(url: string, token: string, format: 'html' | 'json' | 'csv') {
  const path = `/v1/reports/compliance?framework=all&since=${iso(start)}&until=${iso(now)}&format=${format}`
  const times: number[] = []
  let body = ''
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now()
    const res = await fetch(new URL(path, url), { headers: { authorization: `Bearer ${token}` } })
    body = await res.text()
    times.push(performance.now() - t0)
    if (res.status !== 200)
      throw new Error(`${format} report answered ${res.status}: ${body.slice(0, 200)}`)
  }
  return { body, bytes: Buffer.byteLength(body), server_ms: median(times) }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/**
 * The 30-day report of every framework as HTML, three times: its size (the bound is 2 MB), the
 * server's time to answer (median), and the time Chromium takes to lay it out (median of three
 * loads) when one is installed; then the JSON and the CSV the same way (size and server time).
 */
async function measureHtml(url: string, token: string) {
  const { body, bytes, server_ms: serverMs } = await fetchReport(url, token, 'html')
  let browserMs: number | undefined
  const chromium = spawnSync(process.execPath, [join(SELF, '../../scripts/chromium.mjs'), 'path'], {
    encoding: 'utf8',
  })
  if (chromium.status === 0) {
    const { default: puppeteer } = await import('puppeteer-core')
    const browser = await puppeteer.launch({
      executablePath: chromium.stdout.trim(),
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    })
    try {
      const page = await browser.newPage()
      await page.setViewport({ width: 1280, height: 900 })
      const loads: number[] = []
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now()
        await page.setContent(body, { waitUntil: 'load' })
        await page.$eval('html', (el) => el.scrollHeight) // layout done
        loads.push(performance.now() - t0)
      }
      browserMs = median(loads)
    } finally {
      await browser.close()
    }
  }
  const verdict = bytes < 2_000_000 && serverMs < TARGET_REPORT_MS ? 'ok' : 'MISSES 2 MB / 2 s'
  console.log(
    `${'compliance report html (30 days)'.padEnd(34)} ${(bytes / 1024).toFixed(0)} KiB, server ${serverMs.toFixed(0)} ms` +
      `${browserMs === undefined ? ', no Chromium for the layout time' : `, Chromium layout ${browserMs.toFixed(0)} ms`}  ${verdict}`,
  )
  const formats: Record<string, { bytes: number; server_ms: number }> = {
    html: { bytes, server_ms: +serverMs.toFixed(1) },
  }
  for (const format of ['json', 'csv'] as const) {
    const r = await fetchReport(url, token, format)
    formats[format] = { bytes: r.bytes, server_ms: +r.server_ms.toFixed(1) }
    console.log(
      `${`compliance report ${format} (30 days)`.padEnd(34)} ${(r.bytes / 1024).toFixed(0)} KiB, server ${r.server_ms.toFixed(0)} ms` +
        `  ${r.server_ms < TARGET_REPORT_MS ? 'ok' : `MISSES ${TARGET_REPORT_MS} ms`}`,
    )
  }
  return {
    bytes,
    server_ms: +serverMs.toFixed(1),
    formats,
    ...(browserMs === undefined ? {} : { browser_layout_ms: +browserMs.toFixed(1) }),
    target_bytes: 2_000_000,
    target_ms: TARGET_REPORT_MS,
  }
}

// ---------------------------------------------------------------------------------------------
// The load generator (`--load`, a child process): autocannon over the given paths, every
// response time recorded (autocannon's own histogram has no p95).

type Autocannon = (
  opts: Record<string, unknown>,
  cb: (err: Error | null) => void,
) => {
  on(event: 'response', fn: (c: unknown, status: number, b: number, ms: number) => void): void
}

async function runLoad(): Promise<void> {
  let input = ''
  for await (const chunk of process.stdin) input += String(chunk)
  const { url, token, paths, seconds, connections } = JSON.parse(input) as {
    url: string
    token: string
    paths: string[]
    seconds: number
    connections: number
  }
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon
  const latencies: number[] = []
  const statuses: Record<string, number> = {}
  let next = 0
  await new Promise<void>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration: seconds,
        headers: { authorization: `Bearer ${token}` },
        requests: [
          { setupRequest: (req: object) => ({ ...req, path: paths[next++ % paths.length] }) },
        ],
      },
      (err) => (err ? reject(err) : resolve()),
    )
    instance.on('response', (_c, status, _b, ms) => {
      latencies.push(ms)
      statuses[status] = (statuses[status] ?? 0) + 1
    })
  })
  process.stdout.write(JSON.stringify({ latencies, statuses, seconds }))
}

if (process.argv[2] === '--load') await runLoad()
else if (process.argv[2] === '--size') await measureOne()
else await main()
