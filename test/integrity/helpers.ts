/** A chained sink on a fresh database of this file's engine, and the tampering tests need. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { Chainer } from '../../src/integrity/chainer.js'
import {
  startCheckpointer,
  trustedKeys,
  type Checkpointer,
} from '../../src/integrity/checkpoint.js'
import { verifyIntegrity, type VerifyOptions } from '../../src/integrity/verify.js'
import { createClickHouseSink, type EventSink } from '../../src/pipeline/sink.js'
import type { ClickHouseStorage } from '../../src/storage/client.js'
import { createIntegrityStore, type IntegrityStore } from '../../src/storage/integrity-store.js'
import { migrate } from '../../src/storage/migrate.js'
import { RETENTION, testStorage } from '../helpers/storage.js'

export const newKey = (): KeyObject => generateKeyPairSync('ed25519').privateKey

export interface Chained {
  storage: ClickHouseStorage
  store: IntegrityStore
  chainer: Chainer
  checkpointer: Checkpointer
  sink: EventSink
  key: KeyObject
  verify(tenant: string, extra?: Partial<VerifyOptions>): ReturnType<typeof verifyIntegrity>
}

export async function chained(database: string, writer: string, key = newKey()): Promise<Chained> {
  const storage = testStorage(database)
  await migrate(storage, { retention: RETENTION })
  const store = createIntegrityStore(storage)
  const chainer = new Chainer(writer)
  const checkpointer = startCheckpointer({
    chainer,
    key,
    everyEvents: 1_000_000,
    everyMs: 3_600_000,
    store: (tenant, s) =>
      store.writeCheckpoint(tenant, {
        writer: s.checkpoint.writer,
        seq: s.checkpoint.seq,
        issued_at: s.checkpoint.issued_at,
        jws: s.jws,
      }),
  })
  const sink = createClickHouseSink(storage, { integrity: { chainer, checkpointer } })
  const keys = await trustedKeys([key])
  return {
    storage,
    store,
    chainer,
    checkpointer,
    sink,
    key,
    verify: (tenant, extra = {}) => verifyIntegrity(store, tenant, { keys, pageSize: 4, ...extra }),
  }
}

/** Run a statement against the engine directly (the tampering), waiting for mutations. */
export async function tamper(
  storage: ClickHouseStorage,
  sql: string,
  params: Record<string, unknown> = {},
): Promise<void> {
  await storage.client.command({
    query: sql.replaceAll('{{db}}', storage.database),
    query_params: params,
    clickhouse_settings: { mutations_sync: '2' },
  })
}

/** The stored rows of a chain by position: event id and link. */
export async function chainRows(
  storage: ClickHouseStorage,
  tenant: string,
): Promise<{ event_id: string; chain_id: string; chain_seq: number; chain_hash: string }[]> {
  const rs = await storage.client.query({
    query: `SELECT toString(event_id) AS event_id, chain_id, chain_seq, chain_hash
            FROM ${storage.database}.events WHERE tenant = {t:String} ORDER BY chain_id, chain_seq`,
    query_params: { t: tenant },
    format: 'JSONEachRow',
  })
  return (
    await rs.json<{
      event_id: string
      chain_id: string
      chain_seq: number | string
      chain_hash: string
    }>()
  ).map((r) => ({ ...r, chain_seq: Number(r.chain_seq) }))
}
