/**
 * The exception matcher and the exception writes over a recording storage double (issue 31, the
 * survivors of a StrykerJS run on src/detection/exceptions.ts): which exception matches which
 * detection (tenant, rule or `*`, every key, expiry), when the cache is read again, what a
 * created or withdrawn exception stores, and the storage errors each maps to.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  activeExceptions,
  createException,
  createExceptionMatcher,
  deleteException,
  type ExceptionRecord,
} from '../../src/detection/exceptions.js'
import type { Detection } from '../../src/detection/rule.js'
import { StorageError } from '../../src/errors.js'
import { clickhouseRepositories } from '../../src/storage/clickhouse-repositories.js'
import type { ClickHouseConnection, Storage } from '../../src/storage/client.js'
import { loadQuery } from '../../src/storage/sql.js'

const T0 = Date.parse('2026-03-01T12:00:00Z')

interface Double {
  storage: Storage
  inserts: { table: string; rows: readonly object[] }[]
  queries: { query: string; format: string }[]
  /** What the next reads of the exceptions return. */
  rows: ExceptionRecord[]
  fail?: unknown
}

function storageDouble(rows: ExceptionRecord[] = []): Double {
  const d: Double = { inserts: [], queries: [], rows, storage: undefined as unknown as Storage }
  const connection = {
    database: 'audit_db',
    mode: 'embedded',
    insert: async (table: string, inserted: readonly object[]) => {
      if (d.fail) throw d.fail
      d.inserts.push({ table, rows: inserted })
    },
    client: {
      query: async (params: { query: string; format: string }) => {
        if (d.fail) throw d.fail
        d.queries.push(params)
        const snapshot = d.rows.map((r) => ({ ...r }))
        return { json: async () => snapshot }
      },
    },
  } as unknown as ClickHouseConnection
  // The matcher and the writes reach storage through the real repositories over this connection.
  d.storage = { ...connection, ...clickhouseRepositories(connection) } as unknown as Storage
  return d
}

function record(over: Partial<ExceptionRecord> = {}): ExceptionRecord {
  return {
    tenant: 'acme',
    exception_id: 'ex-1',
    rule_id: 'multi-audience-token',
    match: { client_id: 'c1' },
    owner: 'sec@acme',
    reason: 'known batch job',
    created_at: '2026-03-01 00:00:00.000',
    expires_at: '2026-03-02 00:00:00.000',
    ...over,
  }
}

function detection(keys: Record<string, string>, tenant = 'acme'): Detection {
  return { tenant, keys } as unknown as Detection
}

afterEach(() => {
  vi.useRealTimers()
})

describe('exception matcher', () => {
  it('matches on tenant, rule (or *) and every key value, until its expiry (UTC)', async () => {
    const d = storageDouble([
      record(),
      record({ exception_id: 'ex-any', rule_id: '*', match: { client_id: 'c9' } }),
      record({ exception_id: 'ex-two', match: { client_id: 'c2', resource: 'https://r' } }),
    ])
    const m = createExceptionMatcher(d.storage, 0)
    await m.refresh()
    const at = T0
    const rule = 'multi-audience-token'
    expect(m.match(rule, detection({ client_id: 'c1', other: 'x' }), at)).toBe('ex-1')
    expect(m.match(rule, detection({ client_id: 'c1' }, 'other'), at)).toBeUndefined()
    expect(m.match('long-lived-token', detection({ client_id: 'c1' }), at)).toBeUndefined()
    expect(m.match('long-lived-token', detection({ client_id: 'c9' }), at)).toBe('ex-any')
    expect(m.match(rule, detection({ client_id: 'c2' }), at)).toBeUndefined()
    expect(m.match(rule, detection({ client_id: 'c2', resource: 'https://r' }), at)).toBe('ex-two')
    expect(m.match(rule, detection({ client_id: 'c3' }), at)).toBeUndefined()
    // expires_at is UTC: 2026-03-02T00:00:00Z exactly ends it.
    const end = Date.parse('2026-03-02T00:00:00Z')
    expect(m.match(rule, detection({ client_id: 'c1' }), end - 1)).toBe('ex-1')
    expect(m.match(rule, detection({ client_id: 'c1' }), end)).toBeUndefined()
  })

  it('an exception with no key values matches every detection of its rule and tenant', async () => {
    const d = storageDouble([record({ match: {} })])
    const m = createExceptionMatcher(d.storage, 0)
    await m.refresh()
    expect(m.match('multi-audience-token', detection({ a: 'b' }), T0)).toBe('ex-1')
  })

  it('matches nothing before the first refresh, and uses the clock when no time is given', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.parse('2026-03-01T23:59:59Z'))
    const d = storageDouble([record()])
    const m = createExceptionMatcher(d.storage, 0)
    expect(m.match('multi-audience-token', detection({ client_id: 'c1' }))).toBeUndefined()
    await m.refresh()
    expect(m.match('multi-audience-token', detection({ client_id: 'c1' }))).toBe('ex-1')
    vi.setSystemTime(Date.parse('2026-03-02T00:00:00Z'))
    expect(m.match('multi-audience-token', detection({ client_id: 'c1' }))).toBeUndefined()
  })

  it('reads the exceptions again only once refreshMs has passed since the last read', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T0)
    const d = storageDouble([record()])
    const m = createExceptionMatcher(d.storage, 1000)
    await m.refresh()
    expect(d.queries).toHaveLength(1)
    expect(d.queries[0]).toMatchObject({
      query: loadQuery('active-exceptions', 'audit_db'),
      format: 'JSONEachRow',
    })
    d.rows = []
    vi.setSystemTime(T0 + 999)
    await m.refresh()
    expect(d.queries).toHaveLength(1)
    expect(m.match('multi-audience-token', detection({ client_id: 'c1' }), T0)).toBe('ex-1')
    vi.setSystemTime(T0 + 1000)
    await m.refresh()
    expect(d.queries).toHaveLength(2)
    expect(m.match('multi-audience-token', detection({ client_id: 'c1' }), T0)).toBeUndefined()
  })

  it('refreshes every 30 seconds by default', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T0)
    const d = storageDouble([record()])
    const m = createExceptionMatcher(d.storage)
    await m.refresh()
    vi.setSystemTime(T0 + 29_999)
    await m.refresh()
    expect(d.queries).toHaveLength(1)
    vi.setSystemTime(T0 + 30_000)
    await m.refresh()
    expect(d.queries).toHaveLength(2)
  })
})

describe('exception writes', () => {
  it('creates an exception as a new version in the exceptions table of its database', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T0)
    const d = storageDouble()
    const id = await createException(d.storage, {
      tenant: 'acme',
      rule_id: '*',
      match: { client_id: 'c1' },
      owner: 'sec@acme',
      reason: 'why',
      expiresAt: Date.parse('2026-04-01T00:00:00Z'),
    })
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(d.inserts).toEqual([
      {
        table: 'audit_db.exceptions',
        rows: [
          {
            tenant: 'acme',
            exception_id: id,
            rule_id: '*',
            match: { client_id: 'c1' },
            owner: 'sec@acme',
            reason: 'why',
            created_at: '2026-03-01 12:00:00.000',
            expires_at: '2026-04-01 00:00:00.000',
            deleted: false,
            version: T0,
          },
        ],
      },
    ])
  })

  it('withdraws an exception as a deleted newer version of the same record', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(T0)
    const d = storageDouble()
    await deleteException(d.storage, record())
    expect(d.inserts).toEqual([
      { table: 'audit_db.exceptions', rows: [{ ...record(), deleted: true, version: T0 }] },
    ])
  })

  it('reads the active exceptions as stored', async () => {
    const d = storageDouble([record(), record({ exception_id: 'ex-2' })])
    expect(await activeExceptions(d.storage)).toEqual([record(), record({ exception_id: 'ex-2' })])
  })

  it('maps each storage failure to a StorageError naming the operation', async () => {
    const d = storageDouble()
    d.fail = Object.assign(new Error('boom'), { code: '60', type: 'UNKNOWN_TABLE' })
    const input = {
      tenant: 'acme',
      rule_id: '*',
      match: {},
      owner: 'o',
      reason: 'r',
      expiresAt: T0,
    }
    const cases: [Promise<unknown>, string][] = [
      [createException(d.storage, input), 'create exception'],
      [activeExceptions(d.storage), 'read exceptions'],
      [deleteException(d.storage, record()), 'delete exception'],
    ]
    for (const [promise, what] of cases) {
      const err = await promise.then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(StorageError)
      expect((err as StorageError).message).toBe(`${what}: ClickHouse error 60 (UNKNOWN_TABLE)`)
    }
  })
})
