// `npm run demo`: a scripted attack scenario through the real pipeline on the embedded default
// (validation, canonicalization, ClickHouse, streaming and scheduled rules), then the findings.
// The full demo with live peers (node-oidc-provider, MCP SDK servers, an agent) is issue #7.
import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
process.chdir(root)
if (!existsSync('node_modules/.package-lock.json')) {
  console.log('installing npm packages (npm install) ...')
  if (spawnSync('npm', ['install', '--no-audit', '--no-fund'], { stdio: 'inherit' }).status !== 0)
    process.exit(1)
}
if (spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' }).status !== 0)
  process.exit(1)

const { loadConfig, createStorage, migrate, fingerprintToken } = await import('../dist/index.js')
const { ingest, sinkTarget } = await import('../dist/pipeline/ingest.js')
const { createClickHouseSink } = await import('../dist/pipeline/sink.js')
const { createStreamingDetector } = await import('../dist/detection/engine.js')
const { createFindingsStore } = await import('../dist/detection/findings-store.js')
const { runScheduledRules } = await import('../dist/detection/scheduler.js')
const { RULES } = await import('../dist/detection/rules/index.js')
const { createLogger } = await import('../dist/logger.js')

const AS = 'https://as.example.com'
const MCP_A = 'https://mcp-a.example.com/mcp'
const MCP_B = 'https://mcp-b.example.com/mcp'
const API = 'https://api.example.com'
const now = Date.now()
const iso = (offsetS = 0) => new Date(now + offsetS * 1000).toISOString()
const s = Math.floor(now / 1000)

function token(aud, { life = 900, iatOffset = -60 } = {}) {
  const jti = `at-${randomUUID().slice(0, 8)}`
  return {
    jti,
    fingerprint: fingerprintToken(jti),
    iat: s + iatOffset,
    exp: s + iatOffset + life,
    aud,
    format: 'jwt',
  }
}
const base = (type, kind, id, at) => ({
  schema_version: 1,
  event_id: randomUUID(),
  event_type: type,
  occurred_at: iso(at),
  tenant: 'demo',
  source: { kind, id },
  issuer: AS,
  client_id: 'agent-7',
  subject: 'alice',
})
const issued = (t, requested, at) => ({
  ...base('token.issued', 'authorization_server', 'as', at),
  token: t,
  grant_type: 'authorization_code',
  requested_resources: requested,
  granted_aud: t.aud,
  requested_scopes: ['files:read'],
  granted_scopes: ['files:read'],
})
const presented = (t, resource, at, extra = {}) => ({
  ...base('token.presented', 'mcp_server', resource === MCP_A ? 'mcp-a' : 'mcp-b', at),
  token: t,
  resource,
  presented_aud: t.aud,
  aud_validated: resource === MCP_A,
  decision: 'accepted',
  reason: 'ok',
  tool: { method: 'tools/call', name: 'read_file' },
  http: { method: 'POST', path: '/mcp', status: 200 },
  ...extra,
})

const good = token([MCP_A])
const multi = token([MCP_A, API])
const expired = token([MCP_B], { life: 300, iatOffset: -1200 })
const longLived = token([MCP_A], { life: 86_400 })
const noResource = token([API])
const scenario = [
  [
    'benign: a token for mcp-a used at mcp-a',
    [issued(good, [MCP_A], -50), presented(good, MCP_A, -40)],
  ],
  ['replay: the mcp-a token accepted by the lax mcp-b', [presented(good, MCP_B, -30)]],
  ['a multi-audience token', [issued(multi, [MCP_A, API], -29)]],
  [
    'drift: the client asks for mcp-a with a trailing slash',
    [issued(token([MCP_A]), [`${MCP_A}/`], -28)],
  ],
  ['a token request without resource', [issued(noResource, [], -27)]],
  [
    'an expired token accepted by mcp-b',
    [issued(expired, [MCP_B], -1100), presented(expired, MCP_B, -26)],
  ],
  ['a day-long token', [issued(longLived, [MCP_A], -25)]],
  [
    'an Mcp-Name header that disagrees with the body',
    [
      presented(good, MCP_A, -24, {
        tool: {
          method: 'tools/call',
          name: 'delete_file',
          header_method: 'tools/call',
          header_name: 'read_file',
        },
      }),
    ],
  ],
]

const config = loadConfig(process.env)
const storage = createStorage({ ...config.clickhouse, dataDir: config.dataDir })
const log = createLogger('silent')
console.log(`audtrail demo on the embedded ClickHouse engine in ${config.dataDir}\n`)
try {
  await migrate(storage, { retention: config.retention })
  const store = createFindingsStore(storage)
  const detector = createStreamingDetector({ rules: RULES, store, logger: log })
  await detector.warmUp(storage, 3600)
  for (const [what, events] of scenario) {
    const results = await ingest(
      events.map((value) => ({ value })),
      {
        requestId: randomUUID(),
        receivedAt: Date.now(),
        retentionDays: config.retention.eventsDays,
      },
      sinkTarget(createClickHouseSink(storage), detector),
    )
    const rejected = results.filter((r) => r.status === 'rejected')
    console.log(
      `  ${what}: ${events.length} event(s)${rejected.length ? `, ${rejected.length} rejected` : ''}`,
    )
  }
  await runScheduledRules(
    { storage, rules: RULES, store, logger: log, latenessMs: 0 },
    Date.now() + 1,
  )

  const rs = await storage.client.query({
    query: `SELECT rule_id AS rule, severity, count, keys
            FROM ${storage.database}.findings FINAL
            WHERE tenant = 'demo' AND last_seen >= now64(3) - INTERVAL 10 MINUTE
            ORDER BY multiIf(severity = 'critical', 0, severity = 'high', 1, severity = 'medium', 2, 3), rule`,
    format: 'JSONEachRow',
  })
  const findings = await rs.json()
  console.log(`\nfindings (${findings.length}):`)
  console.table(
    findings.map((f) => ({
      rule: f.rule,
      severity: f.severity,
      count: f.count,
      keys: Object.entries(f.keys)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')
        .slice(0, 90),
    })),
  )
} finally {
  await storage.close()
}
console.log(`
Next: the full demo (a real node-oidc-provider, two MCP SDK servers and a Fastify API with the
collectors, an agent attacking them, the analyst API and a compliance report) is issue #7; it
waits for the analyst API (#6). \`npx audtrail serve\` runs ingest and detection today.`)
