import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exampleEvents, at, token } from '../../src/detection/rules/lib/example-events.js'
import { assertEvent } from '../../src/events/parse.js'
import { toEventRow } from '../../src/events/event-row.js'
import { createMemoryRepositories } from '../../src/storage/memory-repositories.js'
import { migrate } from '../../src/storage/migrate.js'
import type { Repositories } from '../../src/storage/repositories.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

const clickhouse = testStorage('delegation_chain')
beforeAll(() => migrate(clickhouse, { retention: RETENTION }).then(() => undefined))
afterAll(closeTestStorages)

const ev = exampleEvents('delegation-chain-test')
const API = 'https://api.example.com/v1'
const exchange = (subject: string, issued: string, seconds: number, extra = {}) =>
  ev.exchanged({
    occurred_at: at(seconds),
    subject_token: { jti: subject },
    token: token({ jti: issued, aud: [API] }),
    actor: { client_id: `svc-${issued}` },
    ...extra,
  })

/** Both repositories walk the chain: over delegation-links.sql, and over the rows in memory. */
const implementations: [string, () => Repositories][] = [
  ['clickhouse', () => clickhouse],
  ['memory', () => createMemoryRepositories()],
]

describe.each(implementations)('the delegation chain of a token (%s)', (_, make) => {
  const storage = make()
  const delegationChain = storage.events.delegationChain.bind(storage.events)
  async function store(tenant: string, events: Record<string, unknown>[]) {
    await storage.events.insert(
      events.map((e) => toEventRow(assertEvent({ ...e, tenant }), { receivedAt: Date.now() })),
    )
  }

  it('walks back to the issued token and forward to every token exchanged from it', async () => {
    // at-1 (issued) -> hop-1 -> hop-2 -> { hop-3a, hop-3b }
    await store('chain', [
      ev.issued(),
      exchange('at-1', 'hop-1', 10, { attributes: { act_depth: 1 } }),
      exchange('hop-1', 'hop-2', 20),
      exchange('hop-2', 'hop-3a', 30),
      exchange('hop-2', 'hop-3b', 31),
      exchange('other', 'unrelated', 40),
    ])
    const chain = await delegationChain('chain', 'hop-2')
    expect(chain.ancestors.map((l) => [l.token_key, l.subject_token_key])).toEqual([
      ['hop-2', 'hop-1'],
      ['hop-1', 'at-1'],
    ])
    expect(chain.ancestors[1]).toMatchObject({
      actor: { client_id: 'svc-hop-1', subject: null },
      granted_aud: [API],
      act_depth: 1,
    })
    expect(chain.descendants.map((l) => l.token_key)).toEqual(['hop-3a', 'hop-3b'])
    expect(chain.truncated).toBe(false)
    const root = await delegationChain('chain', 'at-1')
    expect(root.ancestors).toEqual([])
    expect(root.descendants.map((l) => l.token_key)).toEqual(['hop-1', 'hop-2', 'hop-3a', 'hop-3b'])
    // Another tenant's chain is not this one's.
    expect((await delegationChain('elsewhere', 'hop-2')).ancestors).toEqual([])
  })

  it('stops at a cycle of forged exchanges and at the level bound, saying it was cut', async () => {
    await store('cycle', [exchange('c-2', 'c-1', 10), exchange('c-1', 'c-2', 20)])
    const chain = await delegationChain('cycle', 'c-1')
    expect(chain.ancestors.map((l) => l.token_key)).toEqual(['c-1', 'c-2'])
    await store('long', [
      ev.issued(),
      ...Array.from({ length: 6 }, (_, i) =>
        exchange(i === 0 ? 'at-1' : `l-${i}`, `l-${i + 1}`, i),
      ),
    ])
    const cut = await delegationChain('long', 'l-6', { maxLevels: 3 })
    expect(cut.ancestors.map((l) => l.token_key)).toEqual(['l-6', 'l-5', 'l-4'])
    expect(cut.truncated).toBe(true)
  })
})
