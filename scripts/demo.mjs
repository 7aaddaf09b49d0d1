// `npm run demo`: what runs today on the embedded default, and which issue the full demo waits for.
// The full scenario (node-oidc-provider, MCP servers, an agent and its attacks, findings) is
// issue #7; it needs the collectors (#3), ingest (#4), detection (#5) and API (#6) first.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
process.chdir(root)
if (!existsSync('node_modules/.package-lock.json')) {
  console.log('installing npm packages (npm install) ...')
  if (spawnSync('npm', ['install', '--no-audit', '--no-fund'], { stdio: 'inherit' }).status !== 0)
    process.exit(1)
}
if (!existsSync('dist/cli/main.js')) {
  if (spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' }).status !== 0)
    process.exit(1)
}

const { loadConfig, createStorage, migrate, parseEvent } = await import('../dist/index.js')
const { toEventRow } = await import('../dist/storage/event-row.js')
const { insertEventRows } = await import('../dist/storage/events-store.js')

const config = loadConfig(process.env)
const storage = createStorage({ ...config.clickhouse, dataDir: config.dataDir })
console.log(`audtrail demo on the embedded ClickHouse engine in ${config.dataDir}\n`)
try {
  const result = await migrate(storage, { retention: config.retention })
  console.log(
    `schema: ${result.applied.length} migration(s) applied, ${result.alreadyApplied} already there`,
  )

  const dir = 'schemas/examples/valid'
  const rows = []
  for (const file of readdirSync(dir).sort()) {
    const parsed = parseEvent(JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')))
    if (!parsed.ok) throw new Error(`${file}: ${parsed.reasons.join('; ')}`)
    rows.push(toEventRow(parsed.event, { receivedAt: Date.now() }))
  }
  // The same batch token every run: re-running the demo does not duplicate the example events.
  await insertEventRows(storage, rows, { dedupToken: 'demo-examples-v1' })
  console.log(`events: wrote the ${rows.length} contract examples of ${dir}\n`)

  const rs = await storage.client.query({
    query: `SELECT resource_canonical AS canonical, groupUniqArray(resource_raw) AS raw_spellings,
                   groupUniqArray(role) AS seen_as, sum(events) AS events
            FROM ${storage.database}.resource_usage_daily
            GROUP BY resource_drift_key, resource_canonical ORDER BY canonical`,
    format: 'JSONEachRow',
  })
  console.log('resource inventory (from the rollup):')
  console.table(await rs.json())
} finally {
  await storage.close()
}

console.log(`
Not yet here: the full demo (a node-oidc-provider AS, two MCP servers and a Fastify API with the
collectors, an agent replaying tokens across audiences, findings and a compliance summary) is
issue #7, which waits for the collectors (#3), ingest (#4), detection (#5) and the API (#6).`)
