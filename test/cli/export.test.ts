/**
 * `audtrail export findings`: the export of the API route from the configured storage, to stdout
 * or a file, with the list's filters as flags; usage errors exit 2. The storage is the in-memory
 * repositories with findings of two tenants.
 */
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { beforeAll, describe, expect, it } from 'vitest'
import { EXPORT_USAGE, runExport } from '../../src/cli/export.js'
import { toDateTime64 } from '../../src/events/event-row.js'
import type { Storage } from '../../src/storage/client.js'
import { createMemoryRepositories } from '../../src/storage/memory-repositories.js'
import { parseCsv } from '../helpers/csv.js'

const memory = createMemoryRepositories()
let closed = 0
const storage = async (): Promise<Storage> => ({
  ...memory,
  mode: 'embedded',
  database: 'memory',
  close: async () => {
    closed++
  },
})

beforeAll(async () => {
  const at = toDateTime64(Date.parse('2026-12-07T12:00:00Z'))
  const rows = ['acme', 'globex'].flatMap((tenant) =>
    ['long-lived-token', 'multi-audience-token'].map((rule_id, i) => ({
      tenant,
      finding_id: `${tenant[0]}${i}`.padEnd(32, '0'),
      rule_id,
      severity: i === 0 ? 'medium' : 'high',
      title: rule_id,
      keys: { client_id: `${tenant}-agent` },
      token_key: '',
      client_id: `${tenant}-agent`,
      resource: '',
      evidence: '{}',
      mappings: '{}',
      first_seen: at,
      last_seen: at,
      count: 2,
      updated_at: at,
      version: 1,
    })),
  )
  await memory.findings.write(rows)
})

async function run(args: string[]) {
  const stdout = new PassThrough()
  let text = ''
  stdout.on('data', (c: Buffer) => (text += c.toString('utf8')))
  let stderr = ''
  const code = await runExport(args, {}, { stdout, stderr: (t) => (stderr += t), storage })
  return { code, stdout: text, stderr }
}

describe('audtrail export findings', () => {
  it("writes the tenant's findings as NDJSON, filtered as the list filters", async () => {
    const all = await run(['findings', '--format', 'ndjson', '--tenant', 'acme'])
    expect(all.code, all.stderr).toBe(0)
    const found = all.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(found.map((f) => f.rule_id).sort()).toEqual(['long-lived-token', 'multi-audience-token'])
    expect(new Set(found.map((f) => f.tenant))).toEqual(new Set(['acme']))
    const high = await run([
      'findings',
      '--format',
      'ocsf',
      '--tenant',
      'globex',
      '--severity',
      'high',
    ])
    const events = high.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>) // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      class_uid: 2004,
      severity_id: 4,
      finding_info: { uid: 'g1'.padEnd(32, '0') },
      unmapped: { tenant: 'globex' },
    })
  })

  it('writes a file with --out', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'audtrail-export-')), 'findings.csv')
    const res = await run(['findings', '--format', 'csv', '--tenant', 'acme', '--out', out])
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout).toBe('')
    const rows = parseCsv(readFileSync(out, 'utf8'))
    expect(rows).toHaveLength(3)
    expect(rows.slice(1).every((r) => r[1] === 'acme')).toBe(true)
  })

  it('refuses bad usage with exit code 2 and the usage line', async () => {
    const before = closed
    for (const args of [
      ['findings', '--format', 'xml'],
      ['events', '--format', 'csv'],
      ['findings', '--colour', 'red'],
      ['findings', '--severity', 'apocalyptic'],
    ]) {
      const res = await run(args)
      expect(res.code, args.join(' ')).toBe(2)
      expect(res.stderr).toContain(EXPORT_USAGE)
    }
    // Nothing was opened for a refused command.
    expect(closed).toBe(before)
  })
})
