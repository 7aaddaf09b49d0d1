/**
 * One process of test/storage/view-restart.test.ts (the embedded engine opens one data dir per
 * process). Run as `node --import tsx restart-child.ts first|second DIR TENANT N`:
 * - `first` migrates an empty database, journals an insert of N events of TENANT and sends it,
 *   then exits without forgetting the entry: a process killed after ClickHouse acknowledged the
 *   insert and before the journal deleted it.
 * - `earlier` is `first` on a database migrated as builds before the reattach did: 0010's
 *   `ALTER` run alone (no detach and attach after it), then the rest (0011) by this build's
 *   migrate, in the same process: a server that took 0010 from an earlier build and did not
 *   restart before this one's migrate.
 * - `second` migrates (nothing left to apply) and writes an empty batch through the sink, which
 *   sends the earlier process's entry again before anything else.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInsertJournal } from '../../src/pipeline/insert-journal.js'
import { createClickHouseSink } from '../../src/pipeline/sink.js'
import { createStorage } from '../../src/storage/client.js'
import { toDateTime64 } from '../../src/events/event-row.js'
import {
  encodeEvents,
  prepareEventsInsert,
  sendEventsInsert,
} from '../../src/storage/events-store.js'
import { LEDGER_TABLE, loadMigrations, migrate, templateVars } from '../../src/storage/migrate.js'
import { renderTemplate, splitStatements } from '../../src/storage/sql.js'
import { presentedRow } from './events.js'
import { RETENTION } from './storage.js'

const [phase, dir, tenant, n] = process.argv.slice(2)
if (!dir || !tenant || !n || !['first', 'earlier', 'second'].includes(phase!))
  throw new Error('usage: restart-child.ts first|earlier|second DIR TENANT N')
const storage = createStorage({ database: 'audtrail', dataDir: dir })
const journalDir = join(dir, 'insert-journal')
if (phase === 'earlier') await migrateAsEarlierBuild()
await migrate(storage, { retention: RETENTION })

/** Up to 0010 as a build without the reattach did it: 0010's statements alone, then recorded. */
async function migrateAsEarlierBuild() {
  const all = loadMigrations()
  const before = mkdtempSync(join(dir!, 'migrations-'))
  for (const m of all.filter((m) => m.version < 10)) writeFileSync(join(before, m.file), m.template)
  await migrate(storage, { retention: RETENTION, dir: before })
  rmSync(before, { recursive: true })
  const m10 = all.find((m) => m.version === 10)!
  const sql = renderTemplate(m10.template, templateVars(storage, RETENTION))
  for (const statement of splitStatements(sql)) await storage.client.command({ query: statement })
  await storage.client.insert({
    table: `audtrail.${LEDGER_TABLE}`,
    values: [
      { version: 10, name: m10.name, checksum: m10.checksum, applied_at: toDateTime64(Date.now()) },
    ],
    format: 'JSONEachRow',
  })
  const rest = await migrate(storage, { retention: RETENTION })
  if (rest.applied.length !== all.length - 10) throw new Error(`applied ${rest.applied.join()}`)
}

if (phase !== 'second') {
  const rows = Array.from({ length: Number(n) }, () => presentedRow({ tenant }))
  const insert = prepareEventsInsert(storage, encodeEvents(rows), undefined, {
    dedupToken: `events:restart-test-${tenant}`,
  })
  if (!insert) throw new Error('nothing to insert')
  await createInsertJournal(journalDir).begin(insert)
  await sendEventsInsert(storage, insert)
} else {
  await createClickHouseSink(storage, { journalDir }).write({ rows: [], rejected: [] })
}
await storage.close()
