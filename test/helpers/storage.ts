/** One embedded ClickHouse engine per test file (the engine allows one data dir per process). */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStorage, type Storage } from '../../src/storage/client.js'

let dataDir: string | undefined
const opened: Storage[] = []

/** A storage handle on this file's engine, bound to `database` (in `dir` when given first). */
export function testStorage(database: string, dir?: string): Storage {
  dataDir ??= dir ?? mkdtempSync(join(tmpdir(), 'audtrail-test-'))
  const storage = createStorage({ database, dataDir })
  opened.push(storage)
  return storage
}

export async function closeTestStorages(): Promise<void> {
  await Promise.all(opened.splice(0).map((s) => s.close()))
}

export const RETENTION = { eventsDays: 400, rejectedDays: 30, findingsDays: 730 }
