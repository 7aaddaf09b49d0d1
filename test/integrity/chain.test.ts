/** The canonical form: RFC 8785 (JCS) over the non-empty columns, whatever the values hold. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalJson } from '../../src/events/canonical.js'
import { canonicalRow, canonicalValues, CHAIN_COLUMNS } from '../../src/storage/integrity-chain.js'

const value = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', null),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.array(fc.string({ unit: 'binary' }), { maxLength: 4 }),
  // A Map column: any names, array-index-like ones too ("0", "10", "9").
  fc.dictionary(fc.oneof(fc.string({ unit: 'binary' }), fc.nat().map(String)), fc.string(), {
    maxKeys: 5,
  }),
)

describe('the canonical form of a row', () => {
  it('is the JCS of the row without the chain columns and the empty values', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[a-z_]{1,12}$/), { minLength: 1, maxLength: 12 }),
        fc.array(value, { minLength: 12, maxLength: 12 }),
        (names, values) => {
          const columns = [...names, ...CHAIN_COLUMNS]
          const all = [...values.slice(0, names.length), 'c', 1, 'p', 'h']
          const expected: Record<string, unknown> = {}
          names.forEach((n, i) => {
            const v = all[i]
            const empty =
              v === null ||
              v === '' ||
              (Array.isArray(v) && v.length === 0) ||
              (typeof v === 'object' && v !== null && Object.keys(v).length === 0)
            if (!empty) expected[n] = v
          })
          expect(canonicalValues(columns, all)).toBe(canonicalJson(expected))
          expect(canonicalRow(Object.fromEntries(columns.map((c, i) => [c, all[i]])))).toBe(
            canonicalJson(expected),
          )
        },
      ),
      { numRuns: 500, seed: 29 },
    )
  })

  it('leaves a column at its empty default out, so a column added later keeps old links valid', () => {
    expect(canonicalRow({ a: 'x', added: '' })).toBe(canonicalRow({ a: 'x' }))
    expect(canonicalRow({ a: 'x', added: null })).toBe(canonicalRow({ a: 'x' }))
    expect(canonicalRow({ a: 'x', n: 0 })).not.toBe(canonicalRow({ a: 'x' }))
    expect(canonicalRow({ a: 'x', b: false })).not.toBe(canonicalRow({ a: 'x' }))
  })
})

describe('the links of an insert', () => {
  it('are the same from the digests taken at encoding as from the lines parsed again', async () => {
    const { Chainer } = await import('../../src/integrity/chainer.js')
    const { encodeEvents, encodedInsert } = await import('../../src/storage/events-store.js')
    const { presentedRow } = await import('../helpers/events.js')
    const rows = Array.from({ length: 20 }, (_, i) =>
      presentedRow({
        tenant: i % 3 === 0 ? 'a' : 'b',
        attributes: { '10': 'x', '9': 'y', z: 'é' },
      }),
    )
    const insert = encodedInsert(encodeEvents(rows), [0, 2, 3, 5, 8, 13])!
    expect(insert.digests).toHaveLength(6)
    const fast = new Chainer('wfast').link(insert, 'http').insert
    const slow = new Chainer('wfast').link(
      { columns: insert.columns, body: insert.body, token: insert.token },
      'http',
    ).insert
    expect(fast.body.toString()).toBe(slow.body.toString())
    expect(fast.columns).toEqual([...insert.columns, ...CHAIN_COLUMNS])
  })
})
