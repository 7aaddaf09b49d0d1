/**
 * CPU per read of the findings list, in process, arms interleaved (issue 32): the list's page
 * (GET /v1/findings's storage read) and its count (the first page's `total`), the count as before
 * its estimate became a plain count (findings-count-untriaged.sql for both of its reads) and now
 * (the repository). CPU is the process's
 * (user + system, the embedded engine's threads included) per read, the median and p95 of
 * BENCH_ROUNDS (default 20) rounds; the load average is printed beside it.
 * BENCH_DATA_DIR: a database bench:api has loaded (required; opened, not changed).
 *   BENCH_DATA_DIR=/path npx tsx bench/findings-cpu.ts
 */
import { loadavg } from 'node:os'
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose'
import { buildApp } from '../src/api/app.js'
import { createAuthenticator } from '../src/api/auth.js'
import { createLogger } from '../src/logger.js'
import { Metrics } from '../src/metrics.js'
import { findingsListParams, stableFilters } from '../src/storage/clickhouse-repositories.js'
import { createStorage } from '../src/storage/client.js'
import { FINDINGS_TOTAL_BOUND, type FindingsQuery } from '../src/storage/repositories.js'
import { loadQuery } from '../src/storage/sql.js'

const dir = process.env.BENCH_DATA_DIR
if (!dir) throw new Error('BENCH_DATA_DIR: a database bench:api loaded')
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20)
const storage = createStorage({ database: 'bench', dataDir: dir })
// The whole request too (GET /v1/findings through buildApp and inject: auth, storage, the answer's
// JSON), so that the share of the storage reads in a request's CPU shows.
const ISSUER = 'https://idp.bench.invalid'
const AUDIENCE = 'https://audtrail.bench.invalid/api'
const { privateKey, publicKey } = await generateKeyPair('ES256')
const app = await buildApp({
  logger: createLogger('warn'),
  authenticate: createAuthenticator({
    keys: createLocalJWKSet({
      keys: [{ ...(await exportJWK(publicKey)), kid: 'b', alg: 'ES256' }],
    }),
    issuer: ISSUER,
    audience: AUDIENCE,
  }),
  metrics: new Metrics(),
  readiness: async () => ({}),
  storage,
})
const jwt = await new SignJWT({ audtrail_roles: ['viewer'], audtrail_tenant: 'bench' })
  .setProtectedHeader({ alg: 'ES256', kid: 'b' })
  .setSubject('bench')
  .setIssuer(ISSUER)
  .setAudience(AUDIENCE)
  .setExpirationTime('2h')
  .sign(privateKey)

/** Each list query and its URL (bench:api's findings arms, with a fixed choice). */
const queries: Record<string, [FindingsQuery, string]> = {
  page: [{ tenant: 'bench', limit: 50 }, 'limit=50'],
  'severity filter': [{ tenant: 'bench', limit: 50, severity: 'high' }, 'limit=50&severity=high'],
  'sort -severity': [
    { tenant: 'bench', limit: 50, sort: { field: 'severity', descending: true } },
    'limit=50&sort=-severity',
  ],
  'text filter': [{ tenant: 'bench', limit: 50, text: 'agent-1' }, 'limit=50&q=agent-1'],
  'status filter': [
    { tenant: 'bench', limit: 50, status: 'acknowledged' },
    'limit=50&status=acknowledged',
  ],
}

const cpu = async (f: () => Promise<unknown>) => {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  await f()
  const c = process.cpuUsage(c0)
  return { cpu: (c.user + c.system) / 1000, wall: performance.now() - t0 }
}
/** The count as before findings-count-estimate.sql (no status filter: the untriaged SQL twice). */
const countBefore = async (q: FindingsQuery) => {
  const params = findingsListParams(q)
  const triaged = (params.statuses as string[]).length > 0
  const stable = stableFilters(q)
  const counted = async (exact: boolean, upTo: string | number) => {
    const rs = await storage.client.query({
      query: loadQuery(triaged ? 'findings-count' : 'findings-count-untriaged', 'bench', {
        final: exact && !(stable && !triaged) ? 'FINAL' : '',
        distinct: exact && stable && !triaged ? 'DISTINCT' : '',
      }),
      query_params: { ...params, bound: upTo },
      format: 'JSONEachRow',
    })
    const [row] = await rs.json<{ n: string }>()
    return Number(row?.n ?? 0)
  }
  const exact = await counted(true, FINDINGS_TOTAL_BOUND + 1)
  if (exact <= FINDINGS_TOTAL_BOUND) return { value: exact, exact: true }
  return { value: await counted(false, '18446744073709551615'), exact: false }
}

const request = async (path: string) => {
  const res = await app.inject({
    method: 'GET',
    url: `/v1/findings?${path}`,
    headers: { authorization: `Bearer ${jwt}` },
  })
  if (res.statusCode !== 200) throw new Error(`GET /v1/findings?${path}: ${res.statusCode}`)
}
const arms: Record<string, (q: FindingsQuery, path: string) => Promise<unknown>> = {
  page: (q) => storage.findings.list(q),
  'count before': countBefore,
  count: (q) => storage.findings.count(q),
  request: (_, path) => request(path),
}
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return +s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(1)
}
const out: Record<
  string,
  Record<string, { cpu_ms_p50: number; cpu_ms_p95: number; wall_ms_p50: number }>
> = {}
const load0 = loadavg()[0]!
for (const [qn, [q, path]] of Object.entries(queries)) {
  // The same answer from both counts, then warm.
  const [a, b] = [await countBefore(q), await storage.findings.count(q)]
  if (a.value !== b.value || a.exact !== b.exact) throw new Error(`counts differ: ${qn}`)
  for (const f of Object.values(arms)) await f(q, path)
  const got: Record<string, { cpu: number[]; wall: number[] }> = {}
  for (let i = 0; i < ROUNDS; i++)
    for (const [an, f] of Object.entries(arms)) {
      const m = await cpu(() => f(q, path))
      ;(got[an] ??= { cpu: [], wall: [] }).cpu.push(m.cpu)
      got[an].wall.push(m.wall)
    }
  out[qn] = Object.fromEntries(
    Object.entries(got).map(([an, g]) => [
      an,
      { cpu_ms_p50: pct(g.cpu, 0.5), cpu_ms_p95: pct(g.cpu, 0.95), wall_ms_p50: pct(g.wall, 0.5) },
    ]),
  )
  console.log(qn, JSON.stringify(out[qn]), `load ${loadavg()[0]!.toFixed(1)}`)
}
console.log(JSON.stringify({ load_start: load0, load_end: loadavg()[0], rounds: ROUNDS, out }))
await app.close()
await storage.close()
