/**
 * The integrity chain's reads and the checkpoints' table (docs/integrity.md, migration 0015).
 * A repository of its own, made from a Storage that has a ClickHouse connection; the chain's
 * links themselves are written by the events insert (src/integrity/chainer.ts).
 */
import type { Storage } from './client.js'
import { connectionOf } from './client.js'
import { StorageError } from '../errors.js'
import { mapStorageError } from './errors.js'
import { loadQuery, quoteIdentifier } from './sql.js'

export interface StoredChain {
  /** '' for the unchained rows */
  chain_id: string
  rows: number
  last_seq: number
}

export interface StoredCheckpoint {
  writer: string
  seq: number
  jws: string
}

export interface IntegrityStore {
  /** The tenant's chains (and '' for its unchained rows) with their row counts. */
  chains(tenant: string): Promise<StoredChain[]>
  /** Every row of the chain at positions in (after, until], by position then event id: `SELECT *`. */
  chainPage(
    tenant: string,
    chain: string,
    after: number,
    until: number,
  ): Promise<Record<string, unknown>[]>
  /** Some of the tenant's unchained rows. */
  unchained(tenant: string, limit: number): Promise<{ id: string; received_at: string }[]>
  checkpoints(tenant: string): Promise<StoredCheckpoint[]>
  writeCheckpoint(
    tenant: string,
    checkpoint: { writer: string; seq: number; issued_at: string; jws: string },
  ): Promise<void>
}

/**
 * The store over the storage's ClickHouse connection. The in-memory repositories have no double of
 * it (the chain is read with `SELECT *` of the engine's rows, which is the point): over them,
 * every call fails as their undoubled queries do, as an outage while they are switched off.
 */
export function createIntegrityStore(storage: Storage): IntegrityStore {
  let ch: ReturnType<typeof connectionOf>
  try {
    ch = connectionOf(storage)
  } catch {
    const fail = async (): Promise<never> => {
      if ((storage as { available?: boolean }).available === false)
        throw new StorageError('ERR_SINK_UNAVAILABLE', 'memory storage: unavailable', {
          retriable: true,
        })
      throw new StorageError(
        'ERR_STORAGE_QUERY',
        'memory storage: the integrity store has no in-memory double (see docs/integrity.md)',
      )
    }
    return {
      chains: fail,
      chainPage: fail,
      unchained: fail,
      checkpoints: fail,
      writeCheckpoint: fail,
    }
  }
  async function query<T>(name: string, params: Record<string, unknown>, what: string) {
    try {
      const rs = await ch.client.query({
        query: loadQuery(name, ch.database),
        query_params: params,
        format: 'JSONEachRow',
      })
      return await rs.json<T>()
    } catch (err) {
      throw mapStorageError(err, what)
    }
  }
  return {
    async chains(tenant) {
      const rows = await query<StoredChain>('integrity-chains', { tenant }, 'read chains')
      return rows.map((r) => ({
        chain_id: r.chain_id,
        rows: Number(r.rows),
        last_seq: Number(r.last_seq),
      }))
    },
    chainPage: (tenant, chain, after, until) =>
      query<Record<string, unknown>>(
        'integrity-chain-page',
        { tenant, chain, after, until },
        'read a chain',
      ),
    unchained: (tenant, limit) =>
      query<{ id: string; received_at: string }>(
        'integrity-unchained',
        { tenant, limit },
        'read unchained events',
      ),
    async checkpoints(tenant) {
      const rows = await query<StoredCheckpoint>(
        'integrity-checkpoints',
        { tenant },
        'read checkpoints',
      )
      return rows.map((r) => ({ writer: r.writer, seq: Number(r.seq), jws: r.jws }))
    },
    async writeCheckpoint(tenant, c) {
      try {
        await ch.insert(`${quoteIdentifier(ch.database)}.integrity_checkpoints`, [
          {
            tenant,
            writer: c.writer,
            seq: c.seq,
            issued_at: c.issued_at.replace('T', ' ').replace('Z', ''),
            jws: c.jws,
          },
        ])
      } catch (err) {
        throw mapStorageError(err, 'write a checkpoint')
      }
    },
  }
}
