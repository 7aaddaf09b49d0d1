/**
 * bench:insert-formats compares formats only if they store the same thing: every arm inserts the
 * same sample of bench events (with awkward strings among them) into its own migrated database,
 * and every table the insert feeds (events and the rollups, all columns) must hold what today's
 * JSONCompactEachRow insert stored.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Session } from 'chdb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ARMS,
  benchRows,
  openArm,
  runArm,
  sessionQuery,
  usedColumns,
  type ArmContext,
} from '../../bench/insert-formats.js'
import { ENCODED_COLUMNS } from '../../src/storage/events-store.js'

const dataDir = mkdtempSync(join(tmpdir(), 'audtrail-insert-formats-'))
mkdirSync(resolve(dataDir, 'clickhouse'), { recursive: true })
let session: Session
const contexts = new Map<string, ArmContext>()

/**
 * Strings each format must carry as they are: escapes, quotes, separators, non-ASCII, long. The
 * contract refuses control characters in most members; attribute values keep them (as JSON text).
 */
const CONTROL = 'a \t tab, a\nnewline, a \r return, a \0 NUL'
const AWKWARD = [
  "it's \\ a backslash, \"quotes\" and 'apostrophes', \\N and \\t",
  'été ☃ 𝄞 — ünïcödé',
  `long ${'é'.repeat(150)} end`,
  // Under 128 characters, over 128 bytes of UTF-8 (RowBinary's length takes two bytes).
  'ü'.repeat(70),
  "['looks', 'like', 'an', 'array']",
  '{"looks":"like json"}\\N',
]

const awkward = (i: number): Record<string, unknown> => {
  if (i % 7 !== 0) return {}
  const s = AWKWARD[(i / 7) % AWKWARD.length]!
  return {
    network: { ip: '10.0.0.1', user_agent: s },
    tool: { method: 'tools/call', name: `tool_${i}` },
    http: { method: 'POST', path: `/mcp/${encodeURIComponent(s)}`, status: 200 },
    session_id: `s-${i}`,
    attributes: { note: s, control: CONTROL, n: i, nested: { list: [s, 1, true] } },
  }
}

const N = 300
const sample = benchRows(N, Date.parse('2026-12-08T01:00:00.123Z'), awkward)

/**
 * Every MergeTree-family table of the arm's database but the migrations' record (when each ran),
 * as text: all columns, aggregates finalized.
 */
async function tables(db: string): Promise<Record<string, string>> {
  const list = await sessionQuery(
    session,
    `SELECT name FROM system.tables WHERE database = '${db}' AND engine LIKE '%MergeTree' AND name != 'audtrail_migrations' ORDER BY name`,
  )
  const out: Record<string, string> = {}
  for (const table of list.split('\n').filter(Boolean)) {
    const cols = await sessionQuery(
      session,
      `SELECT name, type FROM system.columns WHERE database = '${db}' AND table = '${table}' ORDER BY position`,
    )
    const exprs = cols
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [name, type] = line.split('\t')
        return type!.startsWith('AggregateFunction')
          ? `toString(finalizeAggregation(${name}))`
          : `toString(${name})`
      })
    out[table] = await sessionQuery(
      session,
      `SELECT ${exprs.join(', ')} FROM ${db}.${table} FINAL ORDER BY ALL`,
    )
  }
  return out
}

beforeAll(async () => {
  session = new Session(resolve(dataDir, 'clickhouse'))
  for (const arm of ARMS) {
    const ctx = await openArm(arm, dataDir, session, `fmt_${arm.name}`)
    contexts.set(arm.name, ctx)
    // Two inserts of the sample's halves, as the bench writes several per round.
    await runArm(ctx, arm, sample.rows.slice(0, 150), sample.events.slice(0, 150), 'a')
    await runArm(ctx, arm, sample.rows.slice(150), sample.events.slice(150), 'b')
  }
})

afterAll(async () => {
  for (const ctx of contexts.values()) await ctx.storage.close()
  session?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('bench:insert-formats arms', () => {
  it('today’s insert stored every sample event, awkward strings included', async () => {
    const stored = await sessionQuery(
      session,
      `SELECT count(), countIf(network_user_agent != ''), countIf(length(attributes) > 0) FROM fmt_json.events`,
    )
    const withAwkward = sample.rows.filter((r) => r.network_user_agent !== '').length
    expect(withAwkward).toBeGreaterThan(0)
    expect(stored.trim().split('\t').map(Number)).toEqual([N, withAwkward, withAwkward])
    const back = await sessionQuery(
      session,
      `SELECT DISTINCT network_user_agent FROM fmt_json.events WHERE network_user_agent != '' ORDER BY 1 FORMAT JSONLines`,
    )
    const agents = back
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { network_user_agent: string }).network_user_agent)
    expect(agents).toEqual([...AWKWARD].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))
  })

  it('the sparse arms leave out columns that no sample row sets', () => {
    const used = usedColumns(sample.rows)
    expect(used.length).toBeGreaterThan(10)
    expect(used.length).toBeLessThan(ENCODED_COLUMNS.length)
    expect(used).toContain('network_user_agent')
    expect(used).not.toContain('granted_aud')
  })

  const baseline = async () => tables('fmt_json')
  for (const arm of ARMS.filter((a) => a.name !== 'json'))
    it(`${arm.name} stores what today’s insert stores, in every table it feeds`, async () => {
      const expected = await baseline()
      const got = await tables(`fmt_${arm.name}`)
      expect(Object.keys(expected).length).toBeGreaterThan(4)
      expect(expected.events!.split('\n').filter(Boolean)).toHaveLength(N)
      expect(Object.keys(got)).toEqual(Object.keys(expected))
      for (const table of Object.keys(expected)) expect(got[table], table).toBe(expected[table])
    })
})
