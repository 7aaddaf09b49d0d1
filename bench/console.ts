/**
 * bench:console — the analyst console's first queue page at scale (issue 24: under 1 s at 10 000
 * findings). Loads BENCH_FINDINGS (default 10 000) findings of the real rules into a fresh
 * embedded engine with INSERT ... SELECT FROM numbers() (a tenth of them triaged), builds the app
 * with JWT authentication and a signed-in console session, then renders `GET /` (the queue's
 * first page: the API's list and the rule catalog, in-process, as the browser's request would)
 * BENCH_RUNS times (default 30) through `inject`, and the same for `GET /?severity=critical` and
 * the API's own `GET /v1/findings?limit=50` for comparison. Prints the first (cold) render and
 * p50/p95 of the rest per page, and one JSON line. Not a timed test: a figure for the docs.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose'
import { buildApp } from '../src/api/app.js'
import { createAuthenticator } from '../src/api/auth.js'
import { MemorySessionStore } from '../src/console/session.js'
import { RULES } from '../src/detection/rules/index.js'
import { createLogger } from '../src/logger.js'
import { Metrics } from '../src/metrics.js'
import { createStorage } from '../src/storage/client.js'
import { migrate } from '../src/storage/migrate.js'

const FINDINGS = Number(process.env.BENCH_FINDINGS ?? 10_000)
const RUNS = Number(process.env.BENCH_RUNS ?? 30)
const TARGET_MS = 1000
const ISSUER = 'https://idp.bench.invalid'
const AUDIENCE = 'https://audtrail.bench.invalid/api'
const DAY_MS = 86_400_000

const FINDINGS_SQL = `
INSERT INTO {{db}}.findings (tenant, finding_id, rule_id, severity, title, keys, token_key,
  client_id, resource, evidence, mappings, first_seen, last_seen, count, updated_at, version)
SELECT
  'bench' AS tenant,
  lower(hex(MD5(concat('bench-', toString(number))))) AS finding_id,
  arrayElement({rule_ids:Array(String)}, i) AS rule_id,
  arrayElement({severities:Array(String)}, i) AS severity,
  arrayElement({titles:Array(String)}, i) AS title,
  map('token_key', token_key, 'client_id', client_id, 'resource', resource) AS keys,
  concat('at-', toString(number)) AS token_key,
  concat('agent-', toString(number % 200)) AS client_id,
  concat('https://mcp-', toString(number % 50), '.example.com/mcp') AS resource,
  concat('{"event_ids":["', toString(generateUUIDv4(number)), '"]}') AS evidence,
  arrayElement({mappings:Array(String)}, i) AS mappings,
  fromUnixTimestamp64Milli(toInt64({start:Int64} + number * ({span:UInt64} / {count:UInt64})), 'UTC') AS first_seen,
  first_seen + toIntervalSecond(90 * (number % 8)) AS last_seen,
  1 + number % 7 AS count,
  now64(3) AS updated_at,
  number AS version
FROM (SELECT number, 1 + number % length({rule_ids:Array(String)}) AS i FROM numbers({count:UInt64}))`

const TRIAGE_SQL = `
INSERT INTO {{db}}.finding_triage
SELECT tenant, finding_id, 'acknowledged', 'looked at', 'alice', now64(3), 'bench', 1
FROM {{db}}.findings WHERE cityHash64(finding_id) % 10 = 0`

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'audtrail-bench-console-'))
  const storage = createStorage({ database: 'bench_console', dataDir })
  try {
    await migrate(storage, { retention: { eventsDays: 400, rejectedDays: 30, findingsDays: 730 } })
    const sql = (s: string) => s.replaceAll('{{db}}', storage.database)
    const t0 = performance.now()
    await storage.client.command({
      query: sql(FINDINGS_SQL),
      query_params: {
        start: Date.now() - 30 * DAY_MS,
        span: 30 * DAY_MS,
        count: FINDINGS,
        rule_ids: RULES.map((r) => r.id),
        severities: RULES.map((r) => r.severity),
        titles: RULES.map((r) => r.title),
        mappings: RULES.map((r) => JSON.stringify(r.mappings)),
      },
    })
    await storage.client.command({ query: sql(TRIAGE_SQL) })
    console.log(
      `bench:console: ${FINDINGS} findings loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    )

    const { privateKey, publicKey } = await generateKeyPair('ES256')
    const jwk = { ...(await exportJWK(publicKey)), kid: 'b1', alg: 'ES256' }
    const authenticate = createAuthenticator({
      keys: createLocalJWKSet({ keys: [jwk] }),
      issuer: ISSUER,
      audience: AUDIENCE,
    })
    const sessions = new MemorySessionStore()
    const app = await buildApp({
      logger: createLogger('silent'),
      authenticate,
      metrics: new Metrics(),
      readiness: async () => ({}),
      storage,
      console: {
        sessions,
        oidc: { issuer: ISSUER, clientId: 'bench-console', audience: AUDIENCE },
      },
    })
    const accessToken = await new SignJWT({ audtrail_roles: ['analyst'], audtrail_tenant: 'bench' })
      .setProtectedHeader({ alg: 'ES256', kid: 'b1' })
      .setSubject('bench-analyst')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey)
    const caller = await authenticate(`Bearer ${accessToken}`)
    const session = sessions.create({ accessToken, caller, expiresAt: Date.now() + 3_600_000 })
    const cookie = `audtrail_console=${session.id}`

    const results: Record<string, unknown> = {}
    for (const [name, url, headers] of [
      ['queue first page', '/', { cookie }],
      ['queue, critical only', '/?severity=critical', { cookie }],
      [
        'API list (comparison)',
        '/v1/findings?limit=50',
        { authorization: `Bearer ${accessToken}` },
      ],
    ] as const) {
      const times: number[] = []
      let bytes = 0
      for (let i = 0; i <= RUNS; i++) {
        const started = performance.now()
        const res = await app.inject({ method: 'GET', url, headers })
        times.push(performance.now() - started)
        if (res.statusCode !== 200) throw new Error(`${url} answered ${res.statusCode}`)
        bytes = res.body.length
      }
      const [cold, ...warm] = times
      const sorted = warm.sort((a, b) => a - b)
      const figures = {
        cold_ms: Math.round(cold!),
        p50_ms: Math.round(quantile(sorted, 0.5)),
        p95_ms: Math.round(quantile(sorted, 0.95)),
        bytes,
      }
      results[name] = figures
      console.log(
        `  ${name.padEnd(24)} cold ${figures.cold_ms} ms, p50 ${figures.p50_ms} ms, p95 ${figures.p95_ms} ms, ${bytes} bytes` +
          (name.startsWith('queue')
            ? figures.p95_ms < TARGET_MS
              ? '  (under 1 s)'
              : '  (OVER 1 s)'
            : ''),
      )
    }
    await app.close()
    console.log(JSON.stringify({ bench: 'console', findings: FINDINGS, runs: RUNS, results }))
  } finally {
    await storage.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()
