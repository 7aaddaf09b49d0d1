import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import {
  canonicalRow,
  CHAIN_COLUMNS,
  linkHash,
  sha256Hex,
} from '../../src/storage/integrity-chain.js'
import { trustedKeys } from '../../src/integrity/checkpoint.js'
import { presentedRow } from '../helpers/events.js'
import { closeTestStorages } from '../helpers/storage.js'
import { chained, chainRows, newKey, tamper, type Chained } from './helpers.js'

afterAll(closeTestStorages)

const TENANT = 'acme'

/** Ten events of acme in three writes (one checkpoint after them), and four of `other`. */
async function seeded(database: string): Promise<Chained> {
  const c = await chained(database, 'wtest')
  for (const n of [3, 3, 4])
    await c.sink.write({
      rows: Array.from({ length: n }, () => presentedRow({ tenant: TENANT })),
      rejected: [],
      source: 'kafka:events:0',
    })
  await c.sink.write({
    rows: Array.from({ length: 4 }, () => presentedRow({ tenant: 'other' })),
    rejected: [],
    source: 'kafka:events:0',
  })
  await c.checkpointer.checkpoint()
  return c
}

const CHAIN = 'kafka:events:0/wtest'
const kinds = (r: { issues: { kind: string }[] }) => r.issues.map((i) => i.kind)

describe('the chain of stored events', () => {
  it('verifies clean when untouched, each tenant with its own chain and checkpoint', async () => {
    const c = await seeded('chain_clean')
    const acme = await c.verify(TENANT)
    expect(acme.ok).toBe(true)
    expect(acme.issues).toEqual([])
    expect(acme.chains).toEqual([
      { chain: CHAIN, rows: 10, last_position: 10, attested: 10, unattested: 0 },
    ])
    expect(acme.checkpoints).toEqual({ valid: 1, invalid: 0 })
    const other = await c.verify('other')
    expect(other.ok).toBe(true)
    expect(other.chains.map((x) => [x.chain, x.rows, x.attested])).toEqual([[CHAIN, 4, 4]])
    // Positions 1..10 in acme's chain, each linked to the one before.
    const rows = await chainRows(c.storage, TENANT)
    expect(rows.map((r) => r.chain_seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  })

  it('names an edited field: chain, position and event id', async () => {
    const c = await seeded('chain_edit')
    const rows = await chainRows(c.storage, TENANT)
    await tamper(
      c.storage,
      `ALTER TABLE {{db}}.events UPDATE http_path = '/forged' WHERE event_id = {id:UUID}`,
      { id: rows[4]!.event_id },
    )
    const r = await c.verify(TENANT)
    expect(r.ok).toBe(false)
    expect(r.issues).toEqual([
      expect.objectContaining({
        kind: 'edited',
        chain: CHAIN,
        position: 5,
        event_id: rows[4]!.event_id,
      }),
    ])
    // The other tenant is untouched.
    expect((await c.verify('other')).ok).toBe(true)
  })

  it('names a deleted middle row', async () => {
    const c = await seeded('chain_delete')
    const rows = await chainRows(c.storage, TENANT)
    await tamper(c.storage, `ALTER TABLE {{db}}.events DELETE WHERE event_id = {id:UUID}`, {
      id: rows[6]!.event_id,
    })
    const r = await c.verify(TENANT)
    expect(r.issues).toEqual([
      expect.objectContaining({ kind: 'deleted', chain: CHAIN, position: 7, to: 7 }),
    ])
  })

  it('names the tail deleted after a checkpoint (truncation)', async () => {
    const c = await seeded('chain_truncate')
    const rows = await chainRows(c.storage, TENANT)
    await tamper(
      c.storage,
      `ALTER TABLE {{db}}.events DELETE WHERE event_id IN {ids:Array(UUID)}`,
      {
        ids: [rows[8]!.event_id, rows[9]!.event_id],
      },
    )
    const r = await c.verify(TENANT)
    expect(r.issues).toEqual([
      expect.objectContaining({ kind: 'truncated', chain: CHAIN, position: 9, to: 10 }),
    ])
  })

  it('names a forged row inserted with a correctly computed link', async () => {
    const c = await seeded('chain_forge')
    const rows = await chainRows(c.storage, TENANT)
    // The forger reads row 3, changes it into another event, and computes its link at 3.
    const rs = await c.storage.client.query({
      query: `SELECT * FROM ${c.storage.database}.events WHERE event_id = {id:UUID}`,
      query_params: { id: rows[2]!.event_id },
      format: 'JSONEachRow',
    })
    const [row] = await rs.json<Record<string, unknown>>()
    const forged: Record<string, unknown> = { ...row, event_id: randomUUID(), http_path: '/forged' }
    const content = Object.fromEntries(
      Object.entries(forged).filter(([k]) => !(CHAIN_COLUMNS as readonly string[]).includes(k)),
    )
    forged.chain_hash = linkHash(
      CHAIN,
      3,
      String(row!.chain_prev),
      String(row!.received_at),
      sha256Hex(canonicalRow(content)),
    )
    await c.storage.insert(`${c.storage.database}.events`, [forged])
    const r = await c.verify(TENANT)
    expect(r.issues).toEqual([
      expect.objectContaining({
        kind: 'inserted',
        chain: CHAIN,
        position: 3,
        event_id: forged.event_id,
      }),
    ])
  })

  it('names both rows of a reorder', async () => {
    const c = await seeded('chain_reorder')
    const rows = await chainRows(c.storage, TENANT)
    const [a, b] = [rows[2]!.event_id, rows[5]!.event_id]
    await tamper(
      c.storage,
      `ALTER TABLE {{db}}.events UPDATE chain_seq = if(event_id = {a:UUID}, 6, 3)
       WHERE event_id IN ({a:UUID}, {b:UUID})`,
      { a, b },
    )
    const r = await c.verify(TENANT)
    expect(r.issues).toEqual([
      expect.objectContaining({ kind: 'edited', chain: CHAIN, position: 3, event_id: b }),
      expect.objectContaining({ kind: 'edited', chain: CHAIN, position: 6, event_id: a }),
    ])
  })

  it('names an unchained row inserted by hand', async () => {
    const c = await seeded('chain_unchained')
    const row = presentedRow({ tenant: TENANT })
    await c.storage.insert(`${c.storage.database}.events`, [row])
    const r = await c.verify(TENANT)
    expect(r.issues).toEqual([
      expect.objectContaining({ kind: 'unchained', event_id: row.event_id }),
    ])
    expect(r.unchained).toBe(1)
  })

  it('refuses an edited checkpoint and one signed with another key', async () => {
    const c = await seeded('chain_checkpoint')
    // Verified with a key that did not sign it: the checkpoint is not trusted.
    const wrong = await c.verify(TENANT, { keys: await trustedKeys([newKey()]) })
    expect(kinds(wrong)).toEqual(['checkpoint_invalid'])
    expect(wrong.issues[0]!.detail).toMatch(/unknown key/)
    // The checkpoint's text edited in ClickHouse (its size raised): the signature fails.
    await tamper(
      c.storage,
      `ALTER TABLE {{db}}.integrity_checkpoints
       UPDATE jws = concat(splitByChar('.', jws)[1], '.', base64URLEncode(replaceOne(base64URLDecode(splitByChar('.', jws)[2]), ' 10 ', ' 12 ')), '.', splitByChar('.', jws)[3])
       WHERE tenant = {t:String}`,
      { t: TENANT },
    )
    const edited = await c.verify(TENANT)
    expect(kinds(edited)).toEqual(['checkpoint_invalid'])
    expect(edited.issues[0]!.detail).toMatch(/invalid/)
  })

  it('sees a checkpoint deleted from ClickHouse against the copy kept outside', async () => {
    const c = await seeded('chain_cp_deleted')
    const copies = (await c.store.checkpoints(TENANT)).map((x) => x.jws)
    await tamper(
      c.storage,
      `ALTER TABLE {{db}}.integrity_checkpoints DELETE WHERE tenant = {t:String}`,
      {
        t: TENANT,
      },
    )
    const rows = await chainRows(c.storage, TENANT)
    await tamper(c.storage, `ALTER TABLE {{db}}.events DELETE WHERE event_id = {id:UUID}`, {
      id: rows[9]!.event_id,
    })
    const r = await c.verify(TENANT, { external: copies })
    expect(kinds(r).sort()).toEqual(['checkpoint_missing', 'truncated'])
  })
})
