/** An exception stops matching at its expiry, even while the matcher's cache still holds it. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createException, createExceptionMatcher } from '../../src/detection/exceptions.js'
import type { Detection } from '../../src/detection/rule.js'
import { migrate } from '../../src/storage/migrate.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

const storage = testStorage('exceptions_expiry')

beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
})
afterAll(closeTestStorages)

const detection: Detection = {
  tenant: 't1',
  keys: { client_id: 'agent-7' },
  evidence: {},
  eventIds: [],
  at: Date.now(),
}

describe('the exception matcher', () => {
  it('stops matching an expired exception before its cache refreshes', async () => {
    // Whole seconds: the stored expiry keeps milliseconds, and this one is exact.
    const expiresAt = Math.ceil(Date.now() / 1000) * 1000 + 60_000
    const id = await createException(storage, {
      tenant: 't1',
      rule_id: '*',
      match: { client_id: 'agent-7' },
      owner: 'alice@example.com',
      reason: 'known migration',
      expiresAt,
    })
    // Loaded once; a refresh within the hour reads nothing new.
    const matcher = createExceptionMatcher(storage, 3_600_000)
    await matcher.refresh()
    expect(matcher.match('any-rule', detection, expiresAt - 1)).toBe(id)
    await matcher.refresh()
    expect(matcher.match('any-rule', detection, expiresAt)).toBeUndefined()
    expect(matcher.match('any-rule', detection, expiresAt + 1)).toBeUndefined()
    expect(matcher.match('any-rule', detection, expiresAt + 3_600_000)).toBeUndefined()
  })
})
