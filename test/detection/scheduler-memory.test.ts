/**
 * The scheduler, the findings store and the exception matcher over the in-memory repositories:
 * windows, watermarks, idempotent findings and suppression, without an engine. The rule's SQL is
 * not run in memory; the test gives the rows it returns.
 */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createException, createExceptionMatcher } from '../../src/detection/exceptions.js'
import { createFindingsStore, findingId } from '../../src/detection/findings-store.js'
import type { ScheduledRule } from '../../src/detection/rule.js'
import { runScheduledRules } from '../../src/detection/scheduler.js'
import { createLogger } from '../../src/logger.js'
import { toDateTime64 } from '../../src/events/event-row.js'
import { createMemoryRepositories } from '../../src/storage/memory-repositories.js'
import { NO_MAPPINGS } from '../../src/frameworks/index.js'

const HOUR = 3_600_000
const NOW = Date.parse('2026-12-01T12:00:00.000Z')
const log = createLogger('silent')

const rule: ScheduledRule = {
  kind: 'scheduled',
  id: 'windowed-test',
  title: 'A windowed test rule',
  severity: 'medium',
  description: '',
  rationale: '',
  references: [],
  mappings: NO_MAPPINGS,
  falsePositives: [],
  runbook: [],
  params: z.object({ threshold: z.number().default(3) }),
  dedupKey: ['client_id'],
  dedupWindowS: 3600,
  examples: [],
  sql: 'windowed-test',
  queryParams: (p: { threshold: number }) => ({ threshold: p.threshold }),
  toDetection: (row) =>
    Number(row.n) >= 3
      ? {
          tenant: String(row.tenant),
          keys: { client_id: String(row.client_id) },
          evidence: { n: row.n },
          eventIds: [],
          at: Date.parse(`${String(row.at).replace(' ', 'T')}Z`),
        }
      : undefined,
}

/** The rows the rule's SQL returns: per window, one busy client (and a quiet one). */
function memoryWithRule() {
  const memory = createMemoryRepositories()
  const windows: [string, string, unknown][] = []
  memory.rules.set('windowed-test', (params, from, to) => {
    windows.push([from, to, params.threshold])
    return [
      { tenant: 'acme', client_id: 'busy', n: 5, at: from },
      { tenant: 'acme', client_id: 'quiet', n: 1, at: from },
    ]
  })
  return { memory, windows }
}

describe('scheduled rules over the memory repositories', () => {
  it('evaluate each window once, record findings, and move the watermark after them', async () => {
    const { memory, windows } = memoryWithRule()
    const options = {
      storage: memory,
      rules: [rule],
      store: createFindingsStore(memory),
      logger: log,
      latenessMs: 0,
      initialLookbackMs: 2 * HOUR,
      maxWindowMs: HOUR,
    }
    const first = await runScheduledRules(options, NOW)
    expect(windows).toEqual([
      [toDateTime64(NOW - 2 * HOUR), toDateTime64(NOW - HOUR), 3],
      [toDateTime64(NOW - HOUR), toDateTime64(NOW), 3],
    ])
    expect(first.map((w) => w.findings.length)).toEqual([1, 1])
    expect(await memory.detection.watermark('windowed-test')).toBe(NOW)

    const id = findingId('acme', rule, { client_id: 'busy' })
    const [listed] = await memory.findings.list({ tenant: 'acme', id })
    expect(listed).toMatchObject({ count: 2, severity: 'medium', status: 'open' })
    expect(listed!.first_seen).toBe(toDateTime64(NOW - 2 * HOUR))
    expect(listed!.last_seen).toBe(toDateTime64(NOW - HOUR))

    // The next pass starts at the watermark; nothing is evaluated twice.
    await runScheduledRules(options, NOW + 10 * 60_000)
    expect(windows.at(-1)).toEqual([toDateTime64(NOW), toDateTime64(NOW + 10 * 60_000), 3])
    expect((await memory.findings.list({ tenant: 'acme', id }))[0]!.count).toBe(3)
  })

  it('leave the watermark where it was when the rule or storage fails', async () => {
    const { memory } = memoryWithRule()
    const options = {
      storage: memory,
      rules: [rule],
      store: createFindingsStore(memory),
      logger: log,
      latenessMs: 0,
    }
    await runScheduledRules(options, NOW)
    memory.available = false
    expect(await runScheduledRules(options, NOW + HOUR)).toEqual([])
    memory.available = true
    expect(await memory.detection.watermark('windowed-test')).toBe(NOW)
    memory.rules.set('windowed-test', () => {
      throw new Error('bad query')
    })
    expect(await runScheduledRules(options, NOW + HOUR)).toEqual([])
    expect(await memory.detection.watermark('windowed-test')).toBe(NOW)
  })

  it('suppress what an exception in force covers, and count it', async () => {
    const { memory } = memoryWithRule()
    await createException(memory, {
      tenant: 'acme',
      rule_id: 'windowed-test',
      match: { client_id: 'busy' },
      owner: 'iam',
      reason: 'a known batch client',
      expiresAt: Date.now() + HOUR,
    })
    const results = await runScheduledRules(
      {
        storage: memory,
        rules: [rule],
        store: createFindingsStore(memory),
        exceptions: createExceptionMatcher(memory, 0),
        logger: log,
        latenessMs: 0,
        initialLookbackMs: HOUR,
      },
      NOW,
    )
    expect(results.map((w) => [w.findings.length, w.suppressed])).toEqual([[0, 1]])
    expect(await memory.findings.list({ tenant: 'acme', limit: 10 })).toEqual([])
  })
})
