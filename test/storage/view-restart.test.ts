import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { closeTestStorages, eventCounts, everyCount, testStorage } from '../helpers/storage.js'

// An insert acknowledged by the process that ran migration 0010 (`ALTER ... MODIFY QUERY` on
// client_usage_daily_mv), then sent again by the next process from the sink's journal, as after
// a SIGKILL between the acknowledgement and the journal's delete. Each process is a child: the
// embedded engine opens one data dir per process, and the point is a fresh load of the schema.
const CHILD = fileURLToPath(new URL('../helpers/restart-child.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const N = 500
const dataDirs: string[] = []

afterAll(async () => {
  await closeTestStorages()
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true })
})

function child(phase: 'first' | 'earlier' | 'second', dataDir: string): Promise<number | null> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', CHILD, phase, dataDir, 'restart', String(N)],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  )
  return new Promise((resolve) => proc.once('exit', (code) => resolve(code)))
}

describe('a view changed by a migration, after a restart', () => {
  it.each([
    ['first', 'by this build'],
    // 0011 reattaches the view for a database that took 0010 from a build without the reattach.
    ['earlier', 'by an earlier build, then 0011'],
  ] as const)(
    'drops an insert sent again by the next process, like every other view (%s: migrated %s)',
    async (phase, _how) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'audtrail-view-restart-'))
      dataDirs.push(dataDir)
      expect(await child(phase, dataDir)).toBe(0)
      // The entry is left, as a kill would leave it: the next process sends it again.
      expect(readdirSync(join(dataDir, 'insert-journal'))).toHaveLength(1)
      expect(await child('second', dataDir)).toBe(0)
      expect(readdirSync(join(dataDir, 'insert-journal'))).toEqual([])

      const storage = testStorage('audtrail', dataDir)
      expect(await eventCounts(storage, 'restart')).toEqual(everyCount(N))
      // Not even a row for FINAL to collapse: `events` dropped the repeat too.
      const rs = await storage.client.query({
        query: "SELECT count() AS n FROM audtrail.events WHERE tenant = 'restart'",
        format: 'JSONEachRow',
      })
      expect(Number((await rs.json<{ n: string | number }>())[0]!.n)).toBe(N)
    },
    120_000,
  )
})
