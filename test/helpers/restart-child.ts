/**
 * One process of test/storage/view-restart.test.ts (the embedded engine opens one data dir per
 * process). Run as `node --import tsx restart-child.ts first|second DIR TENANT N`:
 * - `first` migrates an empty database, journals an insert of N events of TENANT and sends it,
 *   then exits without forgetting the entry: a process killed after ClickHouse acknowledged the
 *   insert and before the journal deleted it.
 * - `second` migrates (nothing left to apply) and writes an empty batch through the sink, which
 *   sends the earlier process's entry again before anything else.
 */
import { join } from 'node:path'
import { createInsertJournal } from '../../src/pipeline/insert-journal.js'
import { createClickHouseSink } from '../../src/pipeline/sink.js'
import { createStorage } from '../../src/storage/client.js'
import {
  encodeEvents,
  prepareEventsInsert,
  sendEventsInsert,
} from '../../src/storage/events-store.js'
import { migrate } from '../../src/storage/migrate.js'
import { presentedRow } from './events.js'
import { RETENTION } from './storage.js'

const [phase, dir, tenant, n] = process.argv.slice(2)
if (!dir || !tenant || !n || (phase !== 'first' && phase !== 'second'))
  throw new Error('usage: restart-child.ts first|second DIR TENANT N')
const storage = createStorage({ database: 'audtrail', dataDir: dir })
const journalDir = join(dir, 'insert-journal')
await migrate(storage, { retention: RETENTION })

if (phase === 'first') {
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
