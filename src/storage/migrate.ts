/**
 * Forward-only ClickHouse migrations from `sql/migrations/NNNN_verb_object.sql`, recorded with
 * checksums in a ledger table; then table retention (TTL) reconciled with the configuration.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { MigrationError } from '../errors.js'
import { connectionOf, type ClickHouseConnection, type Storage } from './client.js'
import { mapStorageError } from './errors.js'
import { toDateTime64 } from '../events/event-row.js'
import { quoteIdentifier, renderTemplate, splitStatements, SQL_DIR } from './sql.js'

export const LEDGER_TABLE = 'audtrail_migrations'
const FILE_NAME = /^(\d{4})_([a-z0-9]+(?:_[a-z0-9]+)*)\.sql$/
/** A statement that changes a materialized view's query; the view is group 1. */
const MODIFY_QUERY = /^ALTER\s+TABLE\s+(\S+)(?:\s+ON\s+CLUSTER\s+\S+)?\s+MODIFY\s+QUERY\b/i

/**
 * What runs around a migration statement. A view whose query is changed is attached again right
 * after, as a restart would load it. The engine that ran `MODIFY QUERY` (chdb 3.4, ClickHouse
 * 26.7) otherwise gives the view's blocks other deduplication ids than every later process does:
 * an insert acknowledged before a restart and sent again after it (the sink's journal) was taken
 * twice by that view's rollup (client_usage_daily of 0010, 2 380 events over in a SIGKILL run),
 * while the other views dropped the repeat. Detached, the view feeds nothing for a moment:
 * `consume` migrates before it reads, and on a server an upgrade that changes a view stops
 * `consume` first (docs/deployment.md). Before the `ALTER`, the view is attached if it is not
 * (a no-op otherwise): a first try that stopped between the detach and the attach left it
 * detached, and the `ALTER` of the retry would not find it. A database that took 0010 from a
 * build without the reattach gets it from 0011.
 */
export function aroundStatement(
  statement: string,
  vars: Record<string, string>,
): { before: string[]; after: string[] } {
  const view = MODIFY_QUERY.exec(statement)?.[1]
  if (!view) return { before: [], after: [] }
  const attach = `ATTACH TABLE IF NOT EXISTS ${view} ${vars.on_cluster}`
  return { before: [attach], after: [`DETACH TABLE IF EXISTS ${view} ${vars.on_cluster}`, attach] }
}

export interface Migration {
  version: number
  name: string
  file: string
  template: string
  checksum: string
}

export interface Retention {
  eventsDays: number
  rejectedDays: number
  findingsDays: number
}

export interface MigrateResult {
  applied: string[]
  alreadyApplied: number
  ttlChanged: string[]
}

export interface MigrateOptions {
  retention: Retention
  dir?: string
  onProgress?: (message: string) => void
}

/** The TTL expression of every table with retention; migrations and reconciliation share it. */
export function ttlExpressions(r: Retention): Record<string, string> {
  return {
    events: `toDateTime(occurred_at) + toIntervalDay(${r.eventsDays})`,
    rejected_events: `toDateTime(received_at) + toIntervalDay(${r.rejectedDays})`,
    findings: `toDateTime(last_seen) + toIntervalDay(${r.findingsDays})`,
    finding_occurrences: `toDateTime(at) + toIntervalDay(${r.findingsDays})`,
    finding_triage_history: `toDateTime(at) + toIntervalDay(${r.findingsDays})`,
    resource_usage_daily: `day + toIntervalDay(${r.eventsDays})`,
    client_usage_daily: `day + toIntervalDay(${r.eventsDays})`,
    token_usage_hourly: `hour + toIntervalDay(${r.eventsDays})`,
    client_activity_daily: `day + toIntervalDay(${r.eventsDays})`,
    report_event_facts: `toDateTime(occurred_at) + toIntervalDay(${r.eventsDays})`,
    source_activity_hourly: `hour + toIntervalDay(${r.eventsDays})`,
    client_activity_daily_fine: `day + toIntervalDay(${r.eventsDays})`,
    token_locations: `hour + toIntervalDay(${r.eventsDays})`,
    token_timeline: `toDateTime(occurred_at) + toIntervalDay(${r.eventsDays})`,
    client_activity_blocks: `start + toIntervalDay(${r.eventsDays})`,
    report_sealed_tokens: `day + toIntervalDay(${r.eventsDays})`,
    report_sealed_days: `day + toIntervalDay(${r.eventsDays})`,
  }
}

/** Read and check the migration files: names well formed, versions unique and contiguous from 1. */
export function loadMigrations(dir = `${SQL_DIR}migrations`): Migration[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
  const migrations: Migration[] = []
  for (const file of files) {
    const match = FILE_NAME.exec(file)
    if (!match)
      throw new MigrationError(
        'ERR_MIGRATION_LAYOUT',
        `migration file ${file}: name must be NNNN_verb_object.sql`,
      )
    const template = readFileSync(`${dir}/${file}`, 'utf8')
    const version = Number(match[1])
    const expected = migrations.length + 1
    if (version !== expected)
      throw new MigrationError(
        'ERR_MIGRATION_LAYOUT',
        `migration file ${file}: expected version ${String(expected).padStart(4, '0')} (versions must be unique and contiguous)`,
      )
    migrations.push({
      version,
      name: match[2]!,
      file,
      template,
      checksum: createHash('sha256').update(template).digest('hex'),
    })
  }
  return migrations
}

/** Template variables for the configured database, cluster and retention. */
export function templateVars(storage: Pick<Storage, 'database' | 'cluster'>, retention: Retention) {
  const vars: Record<string, string> = {
    db: quoteIdentifier(storage.database),
    on_cluster: storage.cluster ? `ON CLUSTER ${quoteIdentifier(storage.cluster)}` : '',
    replicated: storage.cluster ? 'Replicated' : '',
    // Replicated tables deduplicate inserts by default; plain MergeTree needs the window set.
    dedup_window: storage.cluster ? '' : ', non_replicated_deduplication_window = 1000',
  }
  for (const [table, expr] of Object.entries(ttlExpressions(retention))) vars[`ttl.${table}`] = expr
  return vars
}

/** Apply pending migrations in order, then reconcile TTLs. Idempotent: a second run changes nothing. */
export async function migrate(
  storage: Storage | ClickHouseConnection,
  options: MigrateOptions,
): Promise<MigrateResult> {
  const progress = options.onProgress ?? (() => {})
  const migrations = loadMigrations(options.dir)
  const vars = templateVars(storage, options.retention)
  const { client } = connectionOf(storage)
  const run = async (query: string, what: string) => {
    try {
      await client.command({ query })
    } catch (err) {
      throw mapStorageError(err, what)
    }
  }

  await run(`CREATE DATABASE IF NOT EXISTS ${vars.db} ${vars.on_cluster}`, 'create database')
  await run(
    `CREATE TABLE IF NOT EXISTS ${vars.db}.${LEDGER_TABLE} ${vars.on_cluster} (
       version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC')
     ) ENGINE = ${vars.replicated}ReplacingMergeTree ORDER BY version`,
    'create migration ledger',
  )

  const applied = new Map<number, { name: string; checksum: string }>()
  try {
    const rs = await client.query({
      query: `SELECT version, name, checksum FROM ${vars.db}.${LEDGER_TABLE} FINAL ORDER BY version`,
      format: 'JSONEachRow',
    })
    for (const row of await rs.json<{ version: number; name: string; checksum: string }>())
      applied.set(Number(row.version), { name: row.name, checksum: row.checksum })
  } catch (err) {
    throw mapStorageError(err, 'read migration ledger')
  }

  for (const [version, row] of applied) {
    const m = migrations[version - 1]
    if (!m)
      throw new MigrationError(
        'ERR_MIGRATION_LAYOUT',
        `the database has migration ${version} (${row.name}) but no file provides it: is this an older audtrail?`,
      )
    if (m.checksum !== row.checksum)
      throw new MigrationError(
        'ERR_MIGRATION_CHECKSUM',
        `migration ${m.file} was edited after it was applied (checksum differs): add a new migration instead`,
      )
  }

  const result: MigrateResult = { applied: [], alreadyApplied: applied.size, ttlChanged: [] }
  for (const m of migrations) {
    if (applied.has(m.version)) continue
    progress(`applying ${m.file}`)
    const statements = splitStatements(renderTemplate(m.template, vars))
    const apply = async (statement: string, what: string) => {
      try {
        await client.command({ query: statement })
      } catch (err) {
        const mapped = mapStorageError(err, 'apply')
        throw new MigrationError(
          'ERR_MIGRATION_FAILED',
          `migration ${m.file}, ${what}: ${mapped.message}` +
            (mapped.detail ? `: ${mapped.detail}` : ''),
          { cause: err },
        )
      }
    }
    for (const [i, statement] of statements.entries()) {
      const { before, after } = aroundStatement(statement, vars)
      for (const step of before) await apply(step, step)
      await apply(statement, `statement ${i + 1}`)
      for (const step of after) await apply(step, step)
    }
    try {
      await client.insert({
        table: `${vars.db}.${LEDGER_TABLE}`,
        values: [
          {
            version: m.version,
            name: m.name,
            checksum: m.checksum,
            applied_at: toDateTime64(Date.now()),
          },
        ],
        format: 'JSONEachRow',
        clickhouse_settings: { date_time_input_format: 'best_effort' },
      })
    } catch (err) {
      throw mapStorageError(err, `record migration ${m.file}`)
    }
    result.applied.push(m.file)
  }

  result.ttlChanged = await reconcileTtl(storage, options.retention, vars, progress)
  return result
}

/** ALTER ... MODIFY TTL for every table whose TTL differs from the configured retention. */
async function reconcileTtl(
  storage: Storage | ClickHouseConnection,
  retention: Retention,
  vars: Record<string, string>,
  progress: (message: string) => void,
): Promise<string[]> {
  const expressions = ttlExpressions(retention)
  let rows: { name: string; engine_full: string }[]
  try {
    const rs = await connectionOf(storage).client.query({
      query:
        'SELECT name, engine_full FROM system.tables WHERE database = {db:String} AND name IN {tables:Array(String)}',
      query_params: { db: storage.database, tables: Object.keys(expressions) },
      format: 'JSONEachRow',
    })
    rows = await rs.json()
  } catch (err) {
    throw mapStorageError(err, 'read table definitions')
  }
  const changed: string[] = []
  for (const { name, engine_full } of rows) {
    const expr = expressions[name]!
    if (engine_full.includes(`TTL ${expr}`)) continue
    progress(`retention of ${name}: setting TTL ${expr}`)
    try {
      await connectionOf(storage).client.command({
        query: `ALTER TABLE ${vars.db}.${quoteIdentifier(name)} ${vars.on_cluster} MODIFY TTL ${expr}`,
      })
    } catch (err) {
      throw mapStorageError(err, `modify TTL of ${name}`)
    }
    changed.push(name)
  }
  return changed
}

/** Versions the database lacks (a server must be migrated by `audtrail migrate` first). */
export async function pendingMigrations(
  storage: Storage | ClickHouseConnection,
  dir?: string,
): Promise<string[]> {
  const files = loadMigrations(dir)
  const db = quoteIdentifier(storage.database)
  try {
    const rs = await connectionOf(storage).client.query({
      query: `SELECT version FROM ${db}.${LEDGER_TABLE} FINAL`,
      format: 'JSONEachRow',
    })
    const applied = new Set((await rs.json<{ version: number }>()).map((r) => Number(r.version)))
    return files.filter((m) => !applied.has(m.version)).map((m) => m.file)
  } catch (err) {
    const mapped = mapStorageError(err, 'read migration ledger')
    if (mapped.retriable) throw mapped
    // No ledger (or no database) yet: everything is pending.
    return files.map((m) => m.file)
  }
}
