/**
 * The fault test of issue 29: 1 000 random tamperings made directly in the engine (field edits of
 * five kinds of column, middle deletions, and the tail cut after the checkpoint), each one found
 * and located by the walk: the reported (kind, position, event id) are exactly those made.
 * Tampered positions are at least two apart (two adjacent faults are found too, but may be named
 * as one: an edit next to a deletion reads as a deletion then an edit).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { presentedRow } from '../helpers/events.js'
import { seededRandom } from '../helpers/random.js'
import { closeTestStorages } from '../helpers/storage.js'
import { chained, chainRows, tamper } from './helpers.js'

afterAll(closeTestStorages)

const EDITS: Record<string, string> = {
  http_path: `concat(http_path, '-x')`,
  decision: `if(decision = 'allow', 'deny', 'allow')`,
  network_ip: `'203.0.113.66'`,
  token_scopes: `arrayPushBack(token_scopes, 'admin')`,
  attributes: `mapUpdate(attributes, map('forged', '1'))`,
}

describe('1 000 random tamperings', () => {
  it('are each found and located', async () => {
    const c = await chained('chain_fault', 'wfault')
    const tenant = 'fault'
    const N = 3_020
    const TAIL = 10
    for (let i = 0; i < N; i += 500)
      await c.sink.write({
        rows: Array.from({ length: Math.min(500, N - i) }, () => presentedRow({ tenant })),
        rejected: [],
      })
    await c.checkpointer.checkpoint()
    const rows = await chainRows(c.storage, tenant)
    expect(rows).toHaveLength(N)

    const random = seededRandom(29)
    const columns = Object.keys(EDITS)
    const edits = new Map<string, string[]>()
    const deletes: string[] = []
    const expected: string[] = []
    // Positions 2, 5, 8, ... before the tail: 999 of them, and the tail as the thousandth.
    for (let p = 2; p + 1 <= N - TAIL && expected.length < 999; p += 3) {
      const id = rows[p - 1]!.event_id
      if (random() < 0.6) {
        const column = columns[Math.floor(random() * columns.length)]!
        edits.set(column, [...(edits.get(column) ?? []), id])
        expected.push(`edited ${p} ${id}`)
      } else {
        deletes.push(id)
        expected.push(`deleted ${p}`)
      }
    }
    for (const [column, ids] of edits)
      await tamper(
        c.storage,
        `ALTER TABLE {{db}}.events UPDATE ${column} = ${EDITS[column]} WHERE event_id IN {ids:Array(UUID)}`,
        { ids },
      )
    const tail = rows.slice(N - TAIL).map((r) => r.event_id)
    await tamper(
      c.storage,
      `ALTER TABLE {{db}}.events DELETE WHERE event_id IN {ids:Array(UUID)}`,
      {
        ids: [...deletes, ...tail],
      },
    )
    expected.push(`truncated ${N - TAIL + 1}`)
    expect(expected).toHaveLength(1000)

    const report = await c.verify(tenant, { pageSize: 700 })
    const found = report.issues.map((i) =>
      i.kind === 'edited' ? `edited ${i.position} ${i.event_id}` : `${i.kind} ${i.position}`,
    )
    expect(report.issues_total).toBe(1000)
    expect(found).toEqual(expected)
    // Each deletion is one position, the tail all ten.
    expect(
      report.issues.filter((i) => i.kind === 'deleted').every((i) => i.to === i.position),
    ).toBe(true)
    expect(report.issues.at(-1)).toMatchObject({ kind: 'truncated', to: N })
  }, 300_000)
})
