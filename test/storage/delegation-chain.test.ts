import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exampleEvents, at, token } from '../../src/detection/rules/lib/example-events.js'
import { assertEvent } from '../../src/events/parse.js'
import { delegationChain } from '../../src/storage/delegation-chain.js'
import { toEventRow } from '../../src/events/event-row.js'
import { insertEventRows } from '../../src/storage/events-store.js'
import { migrate } from '../../src/storage/migrate.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

const storage = testStorage('delegation_chain')
beforeAll(() => migrate(storage, { retention: RETENTION }).then(() => undefined))
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

async function store(tenant: string, events: Record<string, unknown>[]) {
  await insertEventRows(
    storage,
    events.map((e) => toEventRow(assertEvent({ ...e, tenant }), { receivedAt: Date.now() })),
  )
}

describe('the delegation chain of a token', () => {
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
    const chain = await delegationChain(storage, 'chain', 'hop-2')
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
    const root = await delegationChain(storage, 'chain', 'at-1')
    expect(root.ancestors).toEqual([])
    expect(root.descendants.map((l) => l.token_key)).toEqual(['hop-1', 'hop-2', 'hop-3a', 'hop-3b'])
    // Another tenant's chain is not this one's.
    expect((await delegationChain(storage, 'elsewhere', 'hop-2')).ancestors).toEqual([])
  })

  it('stops at a cycle of forged exchanges and at the level bound, saying it was cut', async () => {
    await store('cycle', [exchange('c-2', 'c-1', 10), exchange('c-1', 'c-2', 20)])
    const chain = await delegationChain(storage, 'cycle', 'c-1')
    expect(chain.ancestors.map((l) => l.token_key)).toEqual(['c-1', 'c-2'])
    await store('long', [
      ev.issued(),
      ...Array.from({ length: 6 }, (_, i) =>
        exchange(i === 0 ? 'at-1' : `l-${i}`, `l-${i + 1}`, i),
      ),
    ])
    const cut = await delegationChain(storage, 'long', 'l-6', { maxLevels: 3 })
    expect(cut.ancestors.map((l) => l.token_key)).toEqual(['l-6', 'l-5', 'l-4'])
    expect(cut.truncated).toBe(true)
  })
})
