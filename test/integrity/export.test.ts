/**
 * `audtrail export events` and `audtrail verify --file` (issue 29 item 4): a tenant's events
 * exported with their links and the checkpoints covering them verify offline, without a database;
 * an edited line, a dropped line, a dropped tail, a garbled line and a wrong key are each named.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runExport } from '../../src/cli/export.js'
import { runVerify } from '../../src/cli/verify.js'
import type { IntegrityReport } from '../../src/integrity/verify.js'
import type { Storage } from '../../src/storage/client.js'
import { presentedRow } from '../helpers/events.js'
import { closeTestStorages } from '../helpers/storage.js'
import { chained, type Chained } from './helpers.js'

afterAll(closeTestStorages)

const DIR = mkdtempSync(join(tmpdir(), 'audtrail-export-'))
const CHAIN0 = 'kafka:events:0/wexp'
const CHAIN1 = 'kafka:events:1/wexp'

let c: Chained
/** received_at of the second write to partition 0 (the start of the period) and after it. */
let periodStart = 0
let periodEnd = 0

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function write(tenant: string, n: number, source: string) {
  await c.sink.write({
    rows: Array.from({ length: n }, () => presentedRow({ tenant })),
    rejected: [],
    source,
  })
}

/** A verifying-keys file (AUDTRAIL_INTEGRITY_VERIFY_KEYS) holding a key's public half. */
function keysFile(key: KeyObject, name: string): string {
  const path = join(DIR, name)
  writeFileSync(path, createPublicKey(key).export({ format: 'pem', type: 'spki' }) as string)
  return path
}

beforeAll(async () => {
  c = await chained('integrity_export', 'wexp')
  // acme: 3 then 2 events on partition 0 and 3 on partition 1, signed; then 2 more, not signed.
  await write('acme', 3, 'kafka:events:0')
  await sleep(20)
  periodStart = Date.now()
  await sleep(20)
  await write('acme', 2, 'kafka:events:0')
  await write('acme', 3, 'kafka:events:1')
  await write('other', 4, 'kafka:events:0')
  await c.checkpointer.checkpoint()
  await sleep(20)
  periodEnd = Date.now()
  await sleep(20)
  await write('acme', 2, 'kafka:events:0')
}, 60_000)

/** The chained storage, kept open when the export closes it. */
const storage = async (): Promise<Storage> => ({ ...c.storage, close: async () => {} })

async function exportEvents(args: string[], file: string) {
  const stdout = new PassThrough()
  let stderr = ''
  const code = await runExport(
    ['events', '--tenant', 'acme', '--page-size', '2', '--out', file, ...args],
    {},
    { stdout, stderr: (t) => (stderr += t), storage },
  )
  expect(stderr).toBe('')
  expect(code).toBe(0)
  return readFileSync(file, 'utf8').split('\n').filter(Boolean)
}

async function verifyFile(file: string, key: KeyObject = c.key, extra: string[] = []) {
  const out: string[] = []
  const env = { AUDTRAIL_INTEGRITY_VERIFY_KEYS: keysFile(key, `keys-${Math.random()}.pem`) }
  const code = await runVerify(['--file', file, '--json', ...extra], env, (l) => out.push(l))
  return { code, report: JSON.parse(out.join('\n')) as IntegrityReport }
}

const rowsOf = (lines: string[]) =>
  lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((o) => 'event_id' in o)

/** The file with its lines changed, under a new name. */
function changed(lines: string[], name: string, edit: (lines: string[]) => string[]): string {
  const path = join(DIR, name)
  writeFileSync(path, `${edit([...lines]).join('\n')}\n`)
  return path
}

const lineOf = (lines: string[], chain: string, seq: number) =>
  lines.findIndex((l) => l.includes(`"chain_id":"${chain}"`) && JSON.parse(l).chain_seq == seq)

describe('an events export with integrity', () => {
  let lines: string[]
  const file = join(DIR, 'acme.ndjson')

  beforeAll(async () => {
    lines = await exportEvents([], file)
  })

  it('holds the tenant’s rows with their links, after the header and the covering checkpoint', () => {
    const header = JSON.parse(lines[0]!).audtrail_export
    expect(header.tenant).toBe('acme')
    expect(header.chains).toEqual([
      { chain: CHAIN0, from: 1, to: 7 },
      { chain: CHAIN1, from: 1, to: 3 },
    ])
    const checkpoints = lines.filter((l) => l.startsWith('{"audtrail_checkpoint"'))
    expect(checkpoints).toHaveLength(1)
    expect(JSON.parse(checkpoints[0]!).audtrail_checkpoint).toMatchObject({
      writer: 'wexp',
      seq: 1,
    })
    const rows = rowsOf(lines)
    // Only acme's, chain by chain and in position order, each with its four link columns.
    expect(rows.every((r) => r.tenant === 'acme')).toBe(true)
    expect(rows.map((r) => `${String(r.chain_id)}#${String(r.chain_seq)}`)).toEqual([
      ...[1, 2, 3, 4, 5, 6, 7].map((n) => `${CHAIN0}#${n}`),
      ...[1, 2, 3].map((n) => `${CHAIN1}#${n}`),
    ])
    for (const r of rows) {
      expect(r.chain_hash).toMatch(/^[0-9a-f]{64}$/)
      expect(r.chain_prev).toMatch(/^[0-9a-f]{64}$/)
    }
    expect(lines).toHaveLength(1 + 1 + 10)
  })

  it('verifies offline against the checkpoint it carries', async () => {
    const { code, report } = await verifyFile(file)
    expect(report.issues).toEqual([])
    expect(code).toBe(0)
    expect(report.chains).toEqual([
      { chain: CHAIN0, rows: 7, last_position: 7, attested: 5, unattested: 2 },
      { chain: CHAIN1, rows: 3, last_position: 3, attested: 3, unattested: 0 },
    ])
    expect(report.checkpoints).toEqual({ valid: 1, invalid: 0 })
    // --strict counts the two rows no checkpoint signs yet.
    const strict = await verifyFile(file, c.key, ['--strict'])
    expect(strict.code).toBe(1)
    expect(strict.report.issues).toMatchObject([
      { kind: 'inserted', chain: CHAIN0, position: 6, to: 7 },
    ])
  })

  it('names an edited line: chain, position and event id', async () => {
    const at = lineOf(lines, CHAIN0, 3)
    const row = JSON.parse(lines[at]!)
    const edited = changed(lines, 'edited.ndjson', (l) => {
      l[at] = JSON.stringify({ ...row, client_id: `${String(row.client_id)}-x` })
      return l
    })
    const { code, report } = await verifyFile(edited)
    expect(code).toBe(1)
    expect(report.issues).toMatchObject([
      { kind: 'edited', chain: CHAIN0, position: 3, event_id: row.event_id },
    ])
  })

  it('names a dropped line', async () => {
    const at = lineOf(lines, CHAIN0, 4)
    const dropped = changed(lines, 'dropped.ndjson', (l) => l.filter((_, i) => i !== at))
    const { code, report } = await verifyFile(dropped)
    expect(code).toBe(1)
    expect(report.issues).toMatchObject([{ kind: 'deleted', chain: CHAIN0, position: 4, to: 4 }])
  })

  it('names a dropped tail', async () => {
    const cut = changed(lines, 'cut.ndjson', (l) => l.slice(0, -2))
    const { code, report } = await verifyFile(cut)
    expect(code).toBe(1)
    expect(report.issues).toMatchObject([{ kind: 'truncated', chain: CHAIN1, position: 2, to: 3 }])
  })

  it('names a garbled line by its number', async () => {
    const garbled = changed(lines, 'garbled.ndjson', (l) => {
      l[5] = l[5]!.slice(0, 40)
      return l
    })
    const { code, report } = await verifyFile(garbled)
    expect(code).toBe(1)
    expect(report.issues[0]).toMatchObject({ kind: 'malformed', line: 6 })
    // The row it held is missing from its chain.
    expect(report.issues.slice(1)).toMatchObject([{ kind: 'deleted', chain: CHAIN0 }])
  })

  it('fails with another key: the checkpoint is not trusted, the tail no longer proved', async () => {
    const { code, report } = await verifyFile(file, generateKeyPairSync('ed25519').privateKey)
    expect(code).toBe(1)
    expect(report.checkpoints).toEqual({ valid: 0, invalid: 1 })
    expect(report.issues[0]).toMatchObject({ kind: 'checkpoint_invalid' })
  })

  it('prints the report as text, naming the line', async () => {
    const dropped = changed(lines, 'text.ndjson', (l) => [...l, '{"not":'])
    const out: string[] = []
    const env = { AUDTRAIL_INTEGRITY_VERIFY_KEYS: keysFile(c.key, 'text-keys.pem') }
    expect(await runVerify(['--file', dropped], env, (x) => out.push(x))).toBe(1)
    expect(out).toContain(`  MALFORMED line ${lines.length + 1}: not a JSON line`)
    expect(out.at(-1)).toBe('FAILED: 1 issue(s)')
  })
})

/** The parts of an OCSF line the test reads. */
interface OcsfLine {
  class_uid: number
  metadata: { uid: string }
  actor: { app_name?: string }
  unmapped: { integrity: Record<string, unknown>; audtrail_event: Record<string, unknown> }
}

describe('an events export as OCSF', () => {
  it('maps each row to an API Activity carrying its link and the row, and verifies offline', async () => {
    const file = join(DIR, 'acme.ocsf.ndjson')
    const lines = await exportEvents(['--format', 'ocsf'], file)
    expect(JSON.parse(lines[0]!).audtrail_export.format).toBe('ocsf')
    const events = lines.slice(2).map((l) => JSON.parse(l) as OcsfLine)
    expect(events).toHaveLength(10)
    for (const e of events) {
      expect(e).toMatchObject({ class_uid: 6003, category_uid: 6, type_uid: 600399 })
      const row = e.unmapped.audtrail_event
      expect(row.tenant).toBe('acme')
      expect(e.metadata.uid).toBe(row.event_id)
      expect(e.unmapped.integrity).toEqual({
        chain_uid: row.chain_id,
        seq: row.chain_seq,
        prev_event: row.chain_prev,
        hash: row.chain_hash,
      })
      expect(e.actor.app_name).toBe(row.client_id)
    }
    const clean = await verifyFile(file)
    expect(clean.report.issues).toEqual([])
    expect(clean.code).toBe(0)
    expect(clean.report.chains.map((x) => [x.chain, x.rows, x.attested])).toEqual([
      [CHAIN0, 7, 5],
      [CHAIN1, 3, 3],
    ])
    // An OCSF attribute edited (not the row it carries): named by its line, chain and position.
    const third = events[2]!
    const mapped = changed(lines, 'ocsf-mapped.ndjson', (l) => {
      l[4] = JSON.stringify({ ...third, actor: { ...third.actor, app_name: 'someone-else' } })
      return l
    })
    const a = await verifyFile(mapped)
    expect(a.code).toBe(1)
    expect(a.report.issues).toMatchObject([
      { kind: 'edited', line: 5, chain: CHAIN0, position: 3, event_id: third.metadata.uid },
    ])
    // The row it carries edited: the chain sees it.
    const carried = changed(lines, 'ocsf-row.ndjson', (l) => {
      const row = { ...third.unmapped.audtrail_event, http_path: '/elsewhere' }
      l[4] = JSON.stringify({ ...third, unmapped: { ...third.unmapped, audtrail_event: row } })
      return l
    })
    const b = await verifyFile(carried)
    expect(b.code).toBe(1)
    expect(b.report.issues.map((i) => [i.kind, i.position])).toContainEqual(['edited', 3])
  })
})

describe('an events export of a period', () => {
  it('starts each chain at its first row of the period, runs on to the signed head, and verifies', async () => {
    const file = join(DIR, 'period.ndjson')
    const lines = await exportEvents(
      [
        '--since',
        new Date(periodStart).toISOString(),
        '--until',
        new Date(periodEnd).toISOString(),
      ],
      file,
    )
    expect(JSON.parse(lines[0]!).audtrail_export.chains).toEqual([
      { chain: CHAIN0, from: 4, to: 5 },
      { chain: CHAIN1, from: 1, to: 3 },
    ])
    expect(rowsOf(lines).map((r) => Number(r.chain_seq))).toEqual([4, 5, 1, 2, 3])
    const { code, report } = await verifyFile(file)
    expect(report.issues).toEqual([])
    expect(code).toBe(0)
    expect(report.chains.map((x) => [x.chain, x.rows, x.attested, x.unattested])).toEqual([
      [CHAIN0, 2, 5, 0],
      [CHAIN1, 3, 3, 0],
    ])
    // Its first row dropped: the position the header promises is missing.
    const at = lineOf(lines, CHAIN0, 4)
    const dropped = changed(lines, 'period-dropped.ndjson', (l) => l.filter((_, i) => i !== at))
    const again = await verifyFile(dropped)
    expect(again.code).toBe(1)
    expect(again.report.issues).toMatchObject([{ kind: 'deleted', chain: CHAIN0, position: 4 }])
  })

  it('refuses bad flags with a usage error, and findings flags for events', async () => {
    const stdout = new PassThrough()
    let stderr = ''
    const io = { stdout, stderr: (t: string) => (stderr += t), storage }
    expect(await runExport(['events', '--since', 'yesterday'], {}, io)).toBe(2)
    expect(stderr).toMatch(/--since/)
    stderr = ''
    expect(await runExport(['events', '--rule', 'x'], {}, io)).toBe(2)
    expect(stderr).toMatch(/--rule: not a flag of this export/)
    stderr = ''
    expect(await runExport(['events', '--format', 'csv'], {}, io)).toBe(2)
    expect(stderr).toMatch(/--format/)
  })
})
