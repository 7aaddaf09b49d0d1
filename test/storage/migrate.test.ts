import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { MigrationError } from '../../src/errors.js'
import { parseEvent } from '../../src/events/index.js'
import { toEventRow } from '../../src/events/event-row.js'
import { insertEventRows } from '../../src/storage/events-store.js'
import {
  aroundStatement,
  loadMigrations,
  migrate,
  pendingMigrations,
  templateVars,
  ttlExpressions,
} from '../../src/storage/migrate.js'
import { renderTemplate, splitStatements, SQL_DIR } from '../../src/storage/sql.js'
import { presentedRow } from '../helpers/events.js'
import { loadExamples } from '../helpers/examples.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

afterAll(closeTestStorages)

async function tables(database: string): Promise<string[]> {
  const storage = testStorage(database)
  const rs = await storage.client.query({
    query: 'SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name',
    query_params: { db: database },
    format: 'JSONEachRow',
  })
  return (await rs.json<{ name: string }>()).map((r) => r.name)
}

function copyMigrations(): string {
  const dir = mkdtempSync(join(tmpdir(), 'audtrail-migrations-'))
  cpSync(`${SQL_DIR}migrations`, dir, { recursive: true })
  return dir
}

async function caught(promise: Promise<unknown>): Promise<MigrationError> {
  try {
    await promise
  } catch (err) {
    return err as MigrationError
  }
  throw new Error('expected a rejection')
}

describe('migrate on the embedded engine', () => {
  it('creates the schema in an empty database and is a no-op the second time', async () => {
    const storage = testStorage('m_twice')
    const first = await migrate(storage, { retention: RETENTION })
    expect(first.applied).toEqual(loadMigrations().map((m) => m.file))
    expect(await tables('m_twice')).toEqual([
      'alert_outbox',
      'audtrail_migrations',
      'client_activity_blocks',
      'client_activity_blocks_mv',
      'client_usage_daily',
      'client_usage_daily_mv',
      'detector_watermarks',
      'events',
      'exceptions',
      'finding_occurrences',
      'finding_triage',
      'finding_triage_history',
      'findings',
      'integrity_checkpoints',
      'rejected_events',
      'report_event_facts',
      'report_event_facts_mv',
      'report_sealed_days',
      'report_sealed_tokens',
      'resource_usage_daily',
      'resource_usage_daily_mv',
      'source_activity_hourly',
      'source_activity_hourly_mv',
      'token_locations',
      'token_locations_mv',
      'token_timeline',
      'token_timeline_mv',
      'token_usage_hourly',
      'token_usage_hourly_mv',
    ])
    const second = await migrate(storage, { retention: RETENTION })
    expect(second).toEqual({ applied: [], alreadyApplied: first.applied.length, ttlChanged: [] })
  })

  it('refuses to run when an applied migration was edited', async () => {
    const dir = copyMigrations()
    const storage = testStorage('m_edited')
    await migrate(storage, { retention: RETENTION, dir })
    const file = join(dir, '0003_create_findings.sql')
    writeFileSync(file, readFileSync(file, 'utf8') + '\n-- edited\n')
    const err = await caught(migrate(storage, { retention: RETENTION, dir }))
    expect(err).toBeInstanceOf(MigrationError)
    expect(err.code).toBe('ERR_MIGRATION_CHECKSUM')
    expect(err.message).toMatch(/0003_create_findings\.sql was edited after it was applied/)
  })

  it('applies only the new migration when one is added', async () => {
    const dir = copyMigrations()
    const storage = testStorage('m_added')
    await migrate(storage, { retention: RETENTION, dir })
    const next = String(loadMigrations(dir).length + 1).padStart(4, '0')
    writeFileSync(
      join(dir, `${next}_create_probe.sql`),
      'CREATE TABLE IF NOT EXISTS {{db}}.probe {{on_cluster}} (x UInt8) ENGINE = MergeTree ORDER BY x;\n',
    )
    const result = await migrate(storage, { retention: RETENTION, dir })
    expect(result.applied).toEqual([`${next}_create_probe.sql`])
    expect(await tables('m_added')).toContain('probe')
  })

  it("retries a view's change that stopped between its detach and attach", async () => {
    const dir = copyMigrations()
    const change = loadMigrations(dir).find((m) => m.name === 'count_client_usage_token_keys')!
    for (const m of loadMigrations(dir).filter((m) => m.version >= change.version))
      rmSync(join(dir, m.file))
    const storage = testStorage('m_view_retry')
    await migrate(storage, { retention: RETENTION, dir })
    // A first try of the change that stopped after the detach: no ledger row, the view detached.
    await storage.client.command({ query: 'DETACH TABLE m_view_retry.client_usage_daily_mv' })
    expect(await tables('m_view_retry')).not.toContain('client_usage_daily_mv')
    writeFileSync(join(dir, change.file), change.template)
    const result = await migrate(storage, { retention: RETENTION, dir })
    expect(result.applied).toEqual([change.file])
    expect(await tables('m_view_retry')).toContain('client_usage_daily_mv')
  })

  it('fills the rollups it adds with the events stored before them, then keeps them current', async () => {
    const dir = copyMigrations()
    const first = loadMigrations(dir).find((m) => m.name === 'create_token_usage_rollup')!
    const later = loadMigrations(dir).filter((m) => m.version >= first.version)
    expect(later.map((m) => m.name)).toContain('create_client_activity_rollup')
    for (const m of later) rmSync(join(dir, m.file))
    const storage = testStorage('m_backfill')
    await migrate(storage, { retention: RETENTION, dir })
    const rows = loadExamples('valid').flatMap(([, e]) => {
      const parsed = parseEvent(structuredClone(e))
      return parsed.ok ? [toEventRow(parsed.event, { receivedAt: Date.now() })] : []
    })
    // The encoder writes every column of today's `events`: columns a later migration adds to it
    // (0014, sender constraints) are added first, as that migration will (IF NOT EXISTS).
    for (const m of later.filter((m) =>
      /^ALTER TABLE \{\{db\}\}\.events .*\n\s+ADD COLUMN/.test(m.template.replace(/^--.*\n/gm, '')),
    ))
      for (const statement of splitStatements(
        renderTemplate(m.template, templateVars(storage, RETENTION)),
      ))
        await storage.client.command({ query: statement })
    await insertEventRows(storage, rows.slice(0, 3))
    for (const m of later) writeFileSync(join(dir, m.file), m.template)
    const applied = (await migrate(storage, { retention: RETENTION, dir })).applied
    expect(applied).toEqual(later.map((m) => m.file))
    await insertEventRows(storage, rows.slice(3))
    // Applied again (as after a failure part way, before the ledger row): still counted once.
    await storage.client.command({
      query: 'DELETE FROM m_backfill.audtrail_migrations WHERE version >= {v:UInt32}',
      query_params: { v: first.version },
    })
    expect((await migrate(storage, { retention: RETENTION, dir })).applied).toEqual(applied)
    const rs = await storage.client.query({
      query: `SELECT sum(events) AS n, uniqExactMerge(event_ids) AS ids,
                (SELECT count() FROM m_backfill.events) AS stored,
                (SELECT sum(events) FROM m_backfill.client_activity_blocks WHERE level = 1) AS client_events,
                (SELECT uniqMerge(tokens) FROM m_backfill.client_activity_blocks WHERE level = 1) AS client_tokens
              FROM m_backfill.token_usage_hourly`,
      format: 'JSONEachRow',
    })
    const [got] = await rs.json<Record<string, string>>()
    const withClient = rows.filter((r) => r.client_id !== '')
    expect(rows.length).toBeGreaterThan(3)
    expect(withClient.length).toBeGreaterThan(3)
    expect(Object.fromEntries(Object.entries(got!).map(([k, v]) => [k, Number(v)]))).toEqual({
      n: rows.length,
      ids: rows.length,
      stored: rows.length,
      client_events: withClient.length,
      client_tokens: new Set(withClient.map((r) => r.token_key).filter((k) => k !== '')).size,
    })
  })

  it('counts the distinct tokens of client_usage_daily without the empty key of token-less events', async () => {
    const storage = testStorage('m_usage_tokens')
    await migrate(storage, { retention: RETENTION })
    const event = (overrides: Record<string, unknown>) => {
      const input: Record<string, unknown> = {
        ...structuredClone(
          loadExamples('valid').find(([, e]) => e.event_type === 'token.presented')![1],
        ),
        event_id: crypto.randomUUID(),
        occurred_at: new Date().toISOString(),
        client_id: 'usage-client',
        resource: 'https://usage.example.com/mcp',
        ...overrides,
      }
      // An override of undefined removes the field.
      for (const [k, v] of Object.entries(input)) if (v === undefined) delete input[k]
      const parsed = parseEvent(input)
      if (!parsed.ok) throw new Error(parsed.reasons.join('; '))
      return toEventRow(parsed.event, { receivedAt: Date.now() })
    }
    const turnedAway = {
      token: undefined,
      presented_aud: undefined,
      aud_validated: false,
      decision: 'rejected',
      reason: 'missing_token',
    }
    const rows = [
      event(turnedAway),
      event(turnedAway),
      event({ decision: 'rejected', reason: 'invalid_signature' }),
      event({ decision: 'rejected', reason: 'invalid_signature' }),
    ]
    expect(rows.filter((r) => r.token_key === '')).toHaveLength(2)
    await insertEventRows(storage, rows)
    const rs = await storage.client.query({
      query: `SELECT sum(events) AS events, uniqMerge(tokens) AS tokens
              FROM m_usage_tokens.client_usage_daily WHERE client_id = 'usage-client'`,
      format: 'JSONEachRow',
    })
    const [got] = await rs.json<Record<string, string | number>>()
    expect({ events: Number(got!.events), tokens: Number(got!.tokens) }).toEqual({
      events: 4,
      tokens: new Set(rows.map((r) => r.token_key).filter((k) => k !== '')).size,
    })
  })

  it("writes a consumer's 40 000-row insert as Compact parts of events and token_usage_hourly", async () => {
    const storage = testStorage('m_compact')
    await migrate(storage, { retention: RETENTION })
    await storage.client.command({ query: 'SYSTEM STOP MERGES m_compact.events' })
    // Distinct tokens, so that token_usage_hourly gets a row (and a uniqExact state) for each.
    await insertEventRows(
      storage,
      Array.from({ length: 40_000 }, () => presentedRow()),
    )
    const rs = await storage.client.query({
      query: `SELECT table, part_type, sum(data_uncompressed_bytes) AS bytes FROM system.parts
              WHERE database = 'm_compact' AND active AND table IN ('events', 'token_usage_hourly')
              GROUP BY table, part_type ORDER BY table`,
      format: 'JSONEachRow',
    })
    const parts = await rs.json<{ table: string; part_type: string; bytes: string }>()
    expect(parts.map((p) => [p.table, p.part_type])).toEqual([
      ['events', 'Compact'],
      ['token_usage_hourly', 'Compact'],
    ])
    // Larger than the engine's default threshold (10 MiB), under which a part is Compact anyway.
    expect(Number(parts[0]!.bytes)).toBeGreaterThan(10 * 1024 * 1024)
  })

  it('reconciles retention when the configuration changes, once', async () => {
    const storage = testStorage('m_ttl')
    await migrate(storage, { retention: RETENTION })
    const changed = { ...RETENTION, eventsDays: 30, findingsDays: 90 }
    const result = await migrate(storage, { retention: changed })
    expect(result.ttlChanged.sort()).toEqual([
      'client_activity_blocks',
      'client_usage_daily',
      'events',
      'finding_occurrences',
      'finding_triage_history',
      'findings',
      'report_event_facts',
      'report_sealed_days',
      'report_sealed_tokens',
      'resource_usage_daily',
      'source_activity_hourly',
      'token_locations',
      'token_timeline',
      'token_usage_hourly',
    ])
    const rs = await storage.client.query({
      query: "SELECT engine_full FROM system.tables WHERE database = 'm_ttl' AND name = 'events'",
      format: 'JSONEachRow',
    })
    const [{ engine_full }] = await rs.json<{ engine_full: string }>()
    expect(engine_full).toContain(`TTL ${ttlExpressions(changed).events}`)
    expect((await migrate(storage, { retention: changed })).ttlChanged).toEqual([])
  })
})

describe('migration files', () => {
  it('are numbered uniquely and contiguously from 0001', () => {
    const migrations = loadMigrations()
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1))
    for (const m of migrations) expect(m.file).toMatch(/^\d{4}_[a-z0-9]+(_[a-z0-9]+)*\.sql$/)
  })

  it.each([
    ['a gap', ['0001_create_a.sql', '0003_create_c.sql'], /expected version 0002/],
    ['a duplicate prefix', ['0001_create_a.sql', '0001_create_b.sql'], /expected version 0002/],
    ['a bad name', ['0001_Create-A.sql'], /name must be NNNN_verb_object\.sql/],
  ])('reject %s', (_, files, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'audtrail-layout-'))
    for (const f of files) writeFileSync(join(dir, f), 'SELECT 1;\n')
    expect(() => loadMigrations(dir)).toThrow(message)
  })

  // A backfill (INSERT ... SELECT into a new rollup) runs on the node migrate talks to, and
  // replication carries its rows to the other replicas; INSERT has no ON CLUSTER.
  const backfill = /^INSERT INTO \{\{db\}\}\.\w+\s+SELECT\s/

  const SEALED_BY_JOB = ['report_sealed_tokens', 'report_sealed_days']
  it('fill a rollup with the very SELECT of the view that keeps it current', () => {
    let backfills = 0
    for (const m of loadMigrations()) {
      const statements = splitStatements(m.template)
      for (const statement of statements.filter((st) => backfill.test(st))) {
        const [, table, select] = /^INSERT INTO \{\{db\}\}\.(\w+)\s+(SELECT\s[\s\S]*)$/.exec(
          statement,
        )!
        // The sealed days (0020) are no rollup: the report's sealing job fills them, no view.
        if (SEALED_BY_JOB.includes(table!)) continue
        const view = statements.find((st) => st.includes(`TO {{db}}.${table}\nAS SELECT`))
        expect(view, `${m.file}: the view feeding ${table}`).toBeDefined()
        expect(view!.slice(view!.indexOf('AS SELECT') + 3), m.file).toBe(select)
        backfills++
      }
    }
    expect(backfills).toBeGreaterThan(0)
  })

  it('use IF NOT EXISTS on every CREATE and carry the cluster placeholder', () => {
    for (const m of loadMigrations()) {
      for (const statement of splitStatements(m.template)) {
        if (backfill.test(statement)) continue
        // A view's new query and a table's setting are idempotent too: applied again, they set
        // the same; and a view detached and attached again ends attached, wherever a first try
        // stopped; a table or view dropped (0019) is dropped only if it is there.
        expect(statement, m.file).toMatch(
          /^(CREATE (TABLE|MATERIALIZED VIEW) IF NOT EXISTS|TRUNCATE TABLE IF EXISTS|DROP (VIEW|TABLE) IF EXISTS \{\{db\}\}\.\w+ \{\{on_cluster\}\}$|ALTER TABLE \{\{db\}\}\.\w+_mv \{\{on_cluster\}\}\nMODIFY QUERY\n|ALTER TABLE \{\{db\}\}\.\w+ \{\{on_cluster\}\} MODIFY SETTING |DETACH TABLE IF EXISTS \{\{db\}\}\.\w+_mv |ATTACH TABLE IF NOT EXISTS \{\{db\}\}\.\w+_mv |ALTER TABLE \{\{db\}\}\.\w+ \{\{on_cluster\}\}\n\s+ADD COLUMN IF NOT EXISTS )/,
        )
        // Columns and indexes added to a table: each one only if it is not there yet.
        for (const add of statement.match(/\bADD (COLUMN|INDEX)\b.*/g) ?? [])
          expect(add, m.file).toMatch(/^ADD (COLUMN|INDEX) IF NOT EXISTS /)
        expect(statement, m.file).toContain('{{on_cluster}}')
      }
    }
  })

  it('render to valid SQL with ON CLUSTER and Replicated engines when a cluster is configured', async () => {
    const storage = testStorage('m_cluster_syntax')
    const vars = templateVars({ database: 'audtrail', cluster: 'main' }, RETENTION)
    let around = 0
    for (const m of loadMigrations()) {
      const statements = splitStatements(renderTemplate(m.template, vars)).flatMap((s) => {
        const { before, after } = aroundStatement(s, vars)
        around += before.length + after.length
        return [...before, s, ...after]
      })
      for (const statement of statements) {
        const insert = statement.startsWith('INSERT INTO ')
        if (!insert) expect(statement).toContain('ON CLUSTER main')
        if (/^CREATE TABLE/.test(statement))
          expect(statement).toMatch(/ENGINE = Replicated\w+MergeTree/)
        // formatQuery parses without executing: the cluster need not exist.
        const rs = await storage.client.query({
          query: 'SELECT formatQuery({q:String}) AS f',
          query_params: { q: statement },
          format: 'JSONEachRow',
        })
        const formatted = (await rs.json<{ f: string }>())[0]!.f
        if (!insert) expect(formatted).toContain('ON CLUSTER main')
      }
    }
    // 0010 changes client_usage_daily_mv's query: the view is attached if it is not before it,
    // and detached and attached after it.
    expect(around).toBe(3)
  })
})

describe('pendingMigrations', () => {
  it('lists every migration for an empty database and none after migrate', async () => {
    const storage = testStorage('m_pending')
    expect(await pendingMigrations(storage)).toEqual(loadMigrations().map((m) => m.file))
    await migrate(storage, { retention: RETENTION })
    expect(await pendingMigrations(storage)).toEqual([])
  })
})
