/** The ClickHouse sink given the same event twice in one write: stored once, the repeat reported. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClickHouseSink } from '../../src/pipeline/sink.js'
import { migrate } from '../../src/storage/migrate.js'
import { presentedRow } from '../helpers/events.js'
import {
  closeTestStorages,
  eventCounts,
  everyCount,
  RETENTION,
  testStorage,
} from '../helpers/storage.js'

const storage = testStorage('sink_repeat')

beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
})
afterAll(closeTestStorages)

describe('the ClickHouse sink', () => {
  it('stores an event repeated within one write once, and counts the repeat as a duplicate', async () => {
    const sink = createClickHouseSink(storage)
    const row = presentedRow({ tenant: 'repeat' })
    expect(await sink.write({ rows: [row, { ...row }], rejected: [] })).toEqual({
      inserted: 1,
      duplicates: 1,
      duplicateLines: [1],
      rejected: 0,
    })
    expect(await eventCounts(storage, 'repeat')).toEqual(everyCount(1))
  })
})
