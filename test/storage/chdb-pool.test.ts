import { afterAll, describe, expect, it } from 'vitest'
import { quoteLiteral } from '../../src/storage/chdb-pool.js'
import { EMBEDDED_CONNECTIONS } from '../../src/storage/client.js'
import { closeTestStorages, testStorage } from '../helpers/storage.js'

const storage = testStorage('chdb_pool')
afterAll(closeTestStorages)

async function one<T>(query: string, params: Record<string, unknown>): Promise<T> {
  const rs = await storage.client.query({ query, query_params: params, format: 'JSONEachRow' })
  return (await rs.json<T>())[0]!
}

const HOSTILE = [
  '',
  "'",
  "\\'",
  '\\',
  '\\\\',
  "x'); DROP DATABASE chdb_pool; --",
  "'; SET param_v = 'other'; SELECT '",
  'tab\there, newline\nthere, return\r, nul\0end',
  '\\N',
  'NULL',
  '{v:String}',
  'ünïcödé 🎉 ключ 鍵',
  "\u2028\u2029'\u0007",
  'a'.repeat(100_000) + "'",
]

describe('parameters bound by SET param_ on a pooled connection', () => {
  it('returns every hostile string exactly as given, alone and inside an array', async () => {
    for (const v of HOSTILE) {
      const row = await one<{ v: string; a: string[]; n: number }>(
        'SELECT {v:String} AS v, {a:Array(String)} AS a, length({v:String}) AS n',
        { v, a: [v, 'x', v] },
      )
      expect(row.v).toBe(v)
      expect(row.a).toEqual([v, 'x', v])
      expect(Number(row.n)).toBe(Buffer.byteLength(v))
    }
  })

  it('quotes any text as one string literal', () => {
    expect(quoteLiteral("a'b\\c\0d")).toBe("'a\\'b\\\\c\\0d'")
    expect(quoteLiteral("'; DROP TABLE t; SELECT '")).toBe("'\\'; DROP TABLE t; SELECT \\''")
  })

  it('sends a value again whenever it differs from what the connection holds', async () => {
    for (let i = 0; i < 40; i++) {
      const v = ['a', 'b', 'a', 'a', 'c'][i % 5]!
      expect(await one<{ v: string }>('SELECT {v:String} AS v', { v })).toEqual({ v })
    }
    // A failed call leaves the session unknown: the next one sends everything again.
    await expect(one('SELECT {v:String} AS v, throwIf(1) AS x', { v: 'z' })).rejects.toThrow()
    for (let i = 0; i < EMBEDDED_CONNECTIONS * 2; i++)
      expect(await one<{ v: string }>('SELECT {v:String} AS v', { v: 'a' })).toEqual({ v: 'a' })
  })

  it('refuses a placeholder without a value even when the connection holds an earlier one', async () => {
    // Set tenant on every connection of the pool, then ask without it.
    for (let i = 0; i < EMBEDDED_CONNECTIONS * 2; i++)
      await one('SELECT {tenant:String} AS t', { tenant: 'other-tenant' })
    await expect(
      storage.client.query({ query: 'SELECT {tenant:String} AS t', format: 'JSONEachRow' }),
    ).rejects.toThrow(/tenant has no value/)
    await expect(
      storage.client.query({ query: 'SELECT {tenant:String} AS t', query_params: { other: 1 } }),
    ).rejects.toThrow(/tenant has no value/)
  })

  it('refuses a parameter or setting name that is not an identifier', async () => {
    await expect(one('SELECT 1', { 'a = 1; DROP': 'x' })).rejects.toThrow(/parameter name/)
    await expect(
      storage.client.query({
        query: 'SELECT 1',
        clickhouse_settings: { 'max_threads = 1; DROP': 1 } as never,
      }),
    ).rejects.toThrow(/setting name/)
  })

  it('lets the engine type-check values: a bad number or date is an engine error', async () => {
    await expect(one('SELECT {n:UInt32} AS n', { n: 'abc' })).rejects.toThrow()
    await expect(one("SELECT {d:DateTime64(3, 'UTC')} AS d", { d: 'not a date' })).rejects.toThrow()
    const row = await one<{ n: number; d: string }>(
      "SELECT {n:UInt32} AS n, toString({d:DateTime64(3, 'UTC')}) AS d",
      { n: 42, d: '2026-11-22 10:05:00.250' },
    )
    expect(row).toEqual({ n: 42, d: '2026-11-22 10:05:00.250' })
  })

  it('takes a parameter far larger than the default max_query_size (256 KiB)', async () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `finding-${i}-${'x'.repeat(20)}`)
    const row = await one<{ n: number; last: string }>(
      'SELECT length({ids:Array(String)}) AS n, {ids:Array(String)}[-1] AS last',
      { ids },
    )
    expect(row).toEqual({ n: 20_000, last: ids.at(-1) })
  })

  it('keeps the values of concurrent queries apart', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        one<{ v: string; n: number }>('SELECT {v:String} AS v, {n:UInt32} AS n', {
          v: `value-${i}'`,
          n: i,
        }),
      ),
    )
    results.forEach((r, i) => expect(r).toEqual({ v: `value-${i}'`, n: i }))
  })
})

describe('the pool', () => {
  it('answers a short query while a long one runs (one connection would queue it behind)', async () => {
    const order: string[] = []
    const long = storage.client
      .query({
        query: 'SELECT sleepEachRow(1) FROM numbers(2) SETTINGS max_block_size = 1',
        format: 'JSONEachRow',
      })
      .then((rs) => rs.json())
      .then(() => order.push('long'))
    // Give the long query its connection first.
    await new Promise((r) => setTimeout(r, 50))
    await one('SELECT {x:UInt8} AS x', { x: 1 }).then(() => order.push('short'))
    await long
    expect(order).toEqual(['short', 'long'])
  })
})
