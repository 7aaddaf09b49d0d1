import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFindingsStore } from '../../src/detection/findings-store.js'
import { RULES } from '../../src/detection/rules/index.js'
import { runScheduledRules } from '../../src/detection/scheduler.js'
import { createLogger } from '../../src/logger.js'
import { ingest, sinkTarget } from '../../src/pipeline/ingest.js'
import { createClickHouseSink } from '../../src/pipeline/sink.js'
import type { Storage } from '../../src/storage/client.js'
import { migrate } from '../../src/storage/migrate.js'
import { presentedEvent } from '../helpers/events.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

const storage = testStorage('scheduler_it')
const drift = RULES.filter((r) => r.id === 'resource-uri-drift')
const log = createLogger('silent')
beforeAll(() => migrate(storage, { retention: RETENTION }))
afterAll(closeTestStorages)

async function driftFindings(tenant: string) {
  const rs = await storage.client.query({
    query:
      "SELECT count() AS findings, sum(count) AS occurrences FROM scheduler_it.findings FINAL WHERE tenant = {tenant:String} AND rule_id = 'resource-uri-drift'",
    query_params: { tenant },
    format: 'JSONEachRow',
  })
  return (await rs.json<{ findings: number; occurrences: number }>())[0]!
}

async function watermark(): Promise<string | undefined> {
  const rs = await storage.client.query({
    query:
      "SELECT watermark FROM scheduler_it.detector_watermarks FINAL WHERE rule_id = 'resource-uri-drift'",
    format: 'JSONEachRow',
  })
  return (await rs.json<{ watermark: string }>())[0]?.watermark
}

/** Two spellings of one resource (a trailing slash): drift. */
async function ingestDrift(tenant: string) {
  const results = await ingest(
    [
      { value: presentedEvent({ tenant, resource: 'https://drift.example.com/mcp' }) },
      { value: presentedEvent({ tenant, resource: 'https://drift.example.com/mcp/' }) },
    ],
    { requestId: `drift-${tenant}`, receivedAt: Date.now(), retentionDays: 400 },
    sinkTarget(createClickHouseSink(storage)),
  )
  expect(results.every((r) => r.status === 'accepted')).toBe(true)
}

describe('the scheduler across a restart in the middle of a window', () => {
  it('neither skips the window nor duplicates its finding', async () => {
    const store = createFindingsStore(storage)
    const start = Date.now()
    // First pass: nothing yet; the watermark starts here.
    await runScheduledRules({ storage, rules: drift, store, logger: log, latenessMs: 0 }, start)
    const before = await watermark()
    await new Promise((r) => setTimeout(r, 5))
    await ingestDrift('restart-1')

    // The process dies after recording the window's findings, before moving the watermark.
    const crashing: Storage = {
      ...storage,
      detection: {
        ...storage.detection,
        setWatermark: async () => {
          throw new Error('killed')
        },
      },
    }
    await runScheduledRules(
      {
        storage: crashing,
        rules: drift,
        store: createFindingsStore(crashing),
        logger: log,
        latenessMs: 0,
      },
      Date.now(),
    )
    expect(await watermark()).toBe(before)
    const afterCrash = await driftFindings('restart-1')
    expect(afterCrash.findings).toBe(1)

    // The restarted detector evaluates the same window again: same finding, same count.
    const windows = await runScheduledRules(
      { storage, rules: drift, store: createFindingsStore(storage), logger: log, latenessMs: 0 },
      Date.now(),
    )
    expect(windows.map((w) => w.from)).toEqual([before])
    expect(await driftFindings('restart-1')).toEqual(afterCrash)
    expect(await watermark()).not.toBe(before)

    // And the next window starts where that one ended: nothing is evaluated twice.
    const next = await runScheduledRules(
      { storage, rules: drift, store: createFindingsStore(storage), logger: log, latenessMs: 0 },
      Date.now() + 10,
    )
    expect(next[0]!.from).toBe(windows[windows.length - 1]!.to)
    expect(await driftFindings('restart-1')).toEqual(afterCrash)
  })
})
