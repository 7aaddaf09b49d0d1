/**
 * Speed of a compliance report on the embedded engine: N events (default 10M) of one tenant over
 * 30 days, generated inside ClickHouse (INSERT ... SELECT from numbers(), so the data costs no
 * JSON), plus another tenant's events and a day outside the period; then the 30-day report of
 * every framework, timed over several runs. Not part of the suite:
 *
 *   npx tsx test/reports/bench.ts [events]
 *
 * Prints the medians and one JSON line of figures.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildComplianceReport } from '../../src/reports/index.js'
import { createStorage } from '../../src/storage/client.js'
import { migrate } from '../../src/storage/migrate.js'

const EVENTS = Number(process.argv[2] ?? 10_000_000)
const RUNS = 5
const SINCE = Date.parse('2026-10-01T00:00:00.000Z')
const UNTIL = SINCE + 30 * 86_400_000

/** One synthetic event per number: 80% presentations, 15% issuances, 5% authorization requests. */
const GENERATE = `
INSERT INTO bench.events
SELECT
    {tenant:String} AS tenant,
    generateUUIDv4(number) AS event_id,
    multiIf(number % 20 < 16, 'token.presented', number % 20 < 19, 'token.issued', 'authorization.requested') AS event_type,
    1 AS schema_version,
    toDateTime64({since:Int64} / 1000 + (number * 2654435761) % {span_s:Int64}, 3, 'UTC') AS occurred_at,
    occurred_at AS received_at,
    if(event_type = 'token.presented', 'mcp_server', 'authorization_server') AS source_kind,
    'src' AS source_id,
    'https://as.example.com' AS issuer,
    concat('agent-', toString(number % 50)) AS client_id,
    concat('user-', toString(number % 1000)) AS subject,
    '' AS session_id,
    if(event_type = 'authorization.requested', '', concat('at-', toString(number % 200000))) AS token_key,
    if(token_key = '', '', 'jti') AS token_key_kind,
    token_key AS token_jti,
    '' AS token_fingerprint,
    if(token_key = '', NULL, toInt64(toUnixTimestamp(occurred_at)) - 60) AS token_iat,
    if(token_key = '', NULL, token_iat + [600, 3600, 7200][1 + number % 3]) AS token_exp,
    if(token_key = '', [], if(number % 97 = 0, ['https://mcp-1.example.com/mcp', 'https://api.example.com'], [concat('https://mcp-', toString(number % 20), '.example.com/mcp')])) AS token_aud,
    token_aud AS token_aud_canonical,
    ['files:read'] AS token_scopes,
    'jwt' AS token_format,
    concat('10.0.', toString(number % 256), '.1') AS network_ip,
    '' AS network_user_agent,
    if(event_type = 'token.issued', 'authorization_code', '') AS grant_type,
    if(event_type = 'token.presented' OR number % 13 = 0, [], token_aud) AS requested_resources,
    requested_resources AS requested_resources_canonical,
    requested_resources AS requested_resources_drift,
    [] AS requested_scopes,
    if(event_type = 'token.issued', token_aud, []) AS granted_aud,
    granted_aud AS granted_aud_canonical,
    granted_aud AS granted_aud_drift,
    [] AS granted_scopes,
    if(event_type = 'token.presented', concat('https://mcp-', toString((number + intDiv(number % 101, 100)) % 20), '.example.com/mcp', if(number % 1009 = 0, '/', '')), '') AS resource,
    resource AS resource_canonical,
    replaceRegexpOne(resource, '/$', '') AS resource_drift_key,
    resource != '' AS resource_valid,
    if(event_type = 'token.presented', token_aud, []) AS presented_aud,
    presented_aud AS presented_aud_canonical,
    presented_aud AS presented_aud_drift,
    if(resource = '', '', if(has(token_aud, resource), 'identical', 'different')) AS aud_match,
    if(event_type = 'token.presented', number % 211 != 0, NULL) AS aud_validated,
    if(event_type = 'token.presented', if(aud_match = 'different' AND number % 3 != 0, 'rejected', 'accepted'), '') AS decision,
    if(decision = 'rejected', 'aud_mismatch', if(decision = '', '', 'ok')) AS reason,
    if(event_type = 'token.presented', 'tools/call', '') AS tool_method,
    if(event_type = 'token.presented' AND number % 503 != 0, concat('tool_', toString(number % 10)), '') AS tool_name,
    '' AS tool_header_method, '' AS tool_header_name,
    if(event_type = 'token.presented', 'POST', '') AS http_method,
    if(event_type = 'token.presented', '/mcp', '') AS http_path,
    if(event_type = 'token.presented', toUInt16(200), NULL) AS http_status,
    '' AS subject_token_key, '' AS subject_token_jti, '' AS subject_token_fingerprint,
    '' AS actor_subject, '' AS actor_client_id, '' AS actor_token_jti, '' AS actor_token_fingerprint,
    map() AS attributes
FROM numbers({offset:UInt64}, {count:UInt64})
`

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'audtrail-bench-report-'))
  const storage = createStorage({ database: 'bench', dataDir })
  try {
    await migrate(storage, {
      retention: { eventsDays: 4000, rejectedDays: 30, findingsDays: 4000 },
    })
    const load = async (tenant: string, since: number, count: number) => {
      const chunk = 1_000_000
      for (let offset = 0; offset < count; offset += chunk)
        await storage.client.command({
          query: GENERATE,
          query_params: {
            tenant,
            since,
            span_s: 30 * 86_400,
            offset,
            count: Math.min(chunk, count - offset),
          },
        })
    }
    const started = performance.now()
    await load('bench', SINCE, EVENTS)
    await load('other', SINCE, Math.ceil(EVENTS / 10))
    await load('bench', UNTIL, Math.ceil(EVENTS / 30))
    const loadS = (performance.now() - started) / 1000
    console.log(
      `loaded ${EVENTS} events of tenant bench (+${Math.ceil(EVENTS / 10 + EVENTS / 30)} others) in ${loadS.toFixed(1)} s`,
    )

    const measure = async (label: string) => {
      const wall: number[] = []
      const cpu: number[] = []
      let controls = 0
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now()
        const c = process.cpuUsage()
        const report = await buildComplianceReport(storage, {
          tenant: 'bench',
          framework: 'all',
          since: SINCE,
          until: UNTIL,
        })
        const used = process.cpuUsage(c)
        wall.push(performance.now() - t)
        // The embedded engine runs in this process: its threads' CPU time counts here.
        cpu.push((used.user + used.system) / 1000)
        controls = report.frameworks.reduce((n, f) => n + f.controls.length, 0)
        if (i === 0 && label === 'as loaded')
          console.log(
            'metrics:',
            report.metrics
              .map((m) => `${m.id}=${m.value === null ? 'null' : +m.value.toFixed(4)}`)
              .join(' '),
          )
      }
      console.log(
        `30-day report, all frameworks (${controls} controls), ${label}: wall ${wall.map((t) => t.toFixed(0)).join(', ')} ms (median ${median(wall).toFixed(0)}); CPU ${cpu.map((t) => t.toFixed(0)).join(', ')} ms (median ${median(cpu).toFixed(0)})`,
      )
      return { wall_ms_median: +median(wall).toFixed(0), cpu_ms_median: +median(cpu).toFixed(0) }
    }
    const asLoaded = await measure('as loaded')
    // Background merges leave one part per partition in the steady state; FINAL is cheap then.
    await storage.client.command({ query: 'OPTIMIZE TABLE bench.events FINAL' })
    const merged = await measure('parts merged')
    console.log(
      JSON.stringify({
        bench: 'report',
        events: EVENTS,
        load_s: +loadS.toFixed(1),
        cores: availableParallelism(),
        as_loaded: asLoaded,
        merged,
      }),
    )
  } finally {
    await storage.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()
