/**
 * reduceEvent (src/events/reduce.ts, reduce-copy.ts): what is cut, what is kept, what is marked
 * reduced, at the bounds. Also cutAt at a surrogate pair and fingerprintToken's refusals. Part of
 * the mutation runs' `events/contract` test set (issue 31, docs/design/mutation.md).
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { cleanText, cutAt } from '../../src/events/clean.js'
import { fingerprintToken } from '../../src/events/fingerprint.js'
import { parseEvent } from '../../src/events/parse.js'
import { reduceEvent } from '../../src/events/reduce.js'
import { LIMITS } from '../../src/events/schema.js'

const JWT = `eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.${'s'.repeat(40)}`

function presented(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema_version: 1,
    event_id: '6f1c1b9e-8d6a-4c53-9d2f-3f1a2b3c4d5e',
    event_type: 'token.presented',
    occurred_at: '2026-11-22T10:00:00.000Z',
    tenant: 'tenant-one',
    source: { kind: 'mcp_server', id: 'files' },
    resource: 'https://mcp.example/mcp',
    presented_aud: [],
    aud_validated: true,
    decision: 'rejected',
    reason: 'missing_token',
    ...extra,
  }
}

type Reduced = { event: Record<string, unknown>; attrs: Record<string, unknown>; reduced: string[] }

function reduced(input: unknown, maxBytes?: number): Reduced {
  const r = reduceEvent(input, maxBytes === undefined ? {} : { maxBytes })
  if (!r.ok) throw new Error(r.reasons.join('; '))
  expect(parseEvent(r.event).ok).toBe(true)
  const event = r.event as Record<string, unknown>
  const attrs = (event.attributes ?? {}) as Record<string, unknown>
  // What the result says it reduced is what the event's marker lists.
  if (r.reduced.length > 0 && r.reduced.length <= 20)
    expect(attrs.reduced).toEqual([...r.reduced].sort())
  return { event, attrs, reduced: r.reduced }
}

function refused(input: unknown): string[] {
  const r = reduceEvent(input)
  expect(r.ok).toBe(false)
  return r.ok ? [] : r.reasons
}

describe('reduceEvent: nothing to do', () => {
  it('returns a valid event unchanged, with no marker', () => {
    const { event, reduced: paths } = reduced(presented())
    expect(paths).toEqual([])
    expect('attributes' in event).toBe(false)
    expect(event).toEqual(
      parseEvent(presented()).ok && (parseEvent(presented()) as { event: unknown }).event,
    )
  })

  it('refuses what is not an object', () => {
    for (const input of [null, 'x', 'a\u0000', 5, [presented()], undefined])
      expect(refused(input)).toEqual(['(root): must be a JSON object'])
  })
})

describe('reduceEvent: the identity of an event is never changed', () => {
  it('refuses an event whose identity is invalid rather than dropping the member', () => {
    for (const extra of [
      { tenant: '-bad' },
      { token: 'x' },
      { decision: 'maybe' },
      { reason: 'nope' },
      { aud_validated: 'yes' },
      { event_id: 'x' },
      { occurred_at: 'yesterday' },
      { resource: 5 },
    ])
      expect(reduceEvent(presented(extra)).ok, JSON.stringify(extra)).toBe(false)
  })

  it('removes an invalid member that is not identity and lists it', () => {
    const { event, reduced: paths } = reduced(presented({ client_id: 5 }))
    expect(event.client_id).toBeUndefined()
    expect(paths).toEqual(['client_id'])
  })
})

describe('reduceEvent: cut to the bound', () => {
  it('cuts an over-long string to its bound, an over-long list to its bound', () => {
    const aud = Array.from({ length: LIMITS.listItems + 6 }, (_, i) => `https://r${i}.example`)
    const { event, reduced: paths } = reduced(
      presented({ client_id: 'c'.repeat(LIMITS.id + 10), presented_aud: aud }),
    )
    expect(event.client_id).toBe('c'.repeat(LIMITS.id))
    expect(event.presented_aud).toEqual(aud.slice(0, LIMITS.listItems))
    expect(paths.sort()).toEqual(['client_id', 'presented_aud'])
  })

  it('removes a bad list item, keeping the others in order', () => {
    const { event, reduced: paths } = reduced(
      presented({ presented_aud: ['https://a.example', 5, 'https://b.example'] }),
    )
    expect(event.presented_aud).toEqual(['https://a.example', 'https://b.example'])
    expect(paths).toEqual(['presented_aud[1]'])
  })

  it('removes a too-large number', () => {
    const { event, reduced: paths } = reduced(
      presented({ reason: 'expired', token: { jti: 'j', iat: 1e300 } }),
    )
    expect(event.token).toEqual({ jti: 'j' })
    expect(paths).toEqual(['token.iat'])
  })

  it('removes an optional parent whose required member is missing; not a required one', () => {
    const { event, reduced: paths } = reduced(presented({ http: { path: '/mcp' } }))
    expect(event.http).toBeUndefined()
    expect(paths).toEqual(['http.method'])
    const withoutResource = presented()
    delete withoutResource.resource
    expect(reduceEvent(withoutResource).ok).toBe(false)
  })
})

describe('reduceEvent: the copy', () => {
  it('leaves out values JSON has no form for, and lists them', () => {
    const { attrs, reduced: paths } = reduced(
      presented({ attributes: { f: () => 1, s: Symbol('s'), b: 10n, keep: 1 } }),
    )
    expect(Object.keys(attrs).sort()).toEqual(['keep', 'reduced'])
    expect(paths.sort()).toEqual(['attributes.b', 'attributes.f', 'attributes.s'])
  })

  it('writes a date as ISO text and leaves an invalid one out', () => {
    const { attrs } = reduced(
      presented({ attributes: { d: new Date(0), bad: new Date(Number.NaN) } }),
    )
    expect(attrs.d).toBe('1970-01-01T00:00:00.000Z')
    expect('bad' in attrs).toBe(false)
  })

  it('drops objects 16 levels down, and lists them', () => {
    let x: unknown = 1
    for (let i = 0; i < 15; i++) x = { n: x }
    const { attrs, reduced: paths } = reduced(presented({ attributes: { x } }))
    const deepest = `attributes.x${'.n'.repeat(14)}`
    expect(paths).toEqual([deepest])
    let node = attrs.x as Record<string, unknown>
    for (let i = 0; i < 13; i++) node = node.n as Record<string, unknown>
    expect(node).toEqual({})
  })

  it('keeps 1024 items of a list and lists it only when longer', () => {
    expect(reduced(presented({ attributes: { l: new Array(1024).fill(0) } })).reduced).toEqual([])
    const { attrs, reduced: paths } = reduced(
      presented({ attributes: { l: new Array(1025).fill(0) } }),
    )
    expect(attrs.l).toHaveLength(1024)
    expect(paths).toEqual(['attributes.l'])
  })

  it('spells list paths by the index in the copy; a throwing item is left out', () => {
    const { attrs, reduced: paths } = reduced(
      presented({ attributes: { l: [() => 1, 'ok', 'b\u0001'] } }),
    )
    expect(attrs.l).toEqual(['ok', 'b\ufffd'])
    expect(paths.sort()).toEqual(['attributes.l[0]', 'attributes.l[1]'])
    const l: unknown[] = ['a', 'b']
    Object.defineProperty(l, 1, {
      get() {
        throw new Error('no')
      },
    })
    const thrown = reduced(presented({ attributes: { l } }))
    expect(thrown.attrs.l).toEqual(['a'])
    expect(thrown.reduced).toEqual(['attributes.l[1]'])
  })

  it('leaves out an object whose keys cannot be read, and a member whose getter throws', () => {
    const trap = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('no')
        },
      },
    )
    const r = reduced(presented({ attributes: { trap, keep: 1 } }))
    expect('trap' in r.attrs).toBe(false)
    expect(r.reduced).toEqual(['attributes.trap'])
    const getter = {
      get g() {
        throw new Error('no')
      },
      ok: 1,
    }
    const g = reduced(presented({ attributes: { o: getter } }))
    expect(g.attrs.o).toEqual({ ok: 1 })
    expect(g.reduced).toEqual(['attributes.o.g'])
  })

  it('leaves out forbidden, token-bearing, over-long, empty and unclean keys, never naming them', () => {
    const long = 'k'.repeat(LIMITS.attributeKey)
    const input = presented({
      attributes: { [JWT]: 1, [`${long}x`]: 2, '': 3, 'a\u0001': 4, [long]: 5 },
    })
    Object.defineProperty(input.attributes, 'constructor', { value: 6, enumerable: true })
    const { attrs, reduced: paths } = reduced(input)
    expect(Object.keys(attrs).sort()).toEqual([long, 'reduced'])
    expect(paths).toEqual(['attributes.(a key)'])
  })

  it('copies at most 256 members of an object', () => {
    const o = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, 0]))
    const { attrs } = reduced(presented({ attributes: { o } }))
    expect(Object.keys(attrs.o as object)).toHaveLength(256)
  })
})

describe('reduceEvent: attributes', () => {
  it('drops the largest attributes until the rest fits the budget, exactly', () => {
    const budget = LIMITS.attributesJson - 2048
    // {"b":"..."} is 8 characters around the value: b alone is exactly the budget.
    const b = 'y'.repeat(budget - 8)
    const { attrs, reduced: paths } = reduced(
      presented({ attributes: { b, a: 'x'.repeat(budget + 100) } }),
    )
    expect(attrs.b).toBe(b)
    expect('a' in attrs).toBe(false)
    expect(paths).toEqual(['attributes.a'])
    // At the budget nothing goes.
    expect(reduced(presented({ attributes: { b } })).reduced).toEqual([])
  })

  it(`keeps the first ${LIMITS.attributes - 2} of too many attributes`, () => {
    const many = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k${i}`, i]))
    const { attrs, reduced: paths } = reduced(presented({ attributes: many }))
    const kept = Array.from({ length: LIMITS.attributes - 2 }, (_, i) => `k${i}`)
    expect(Object.keys(attrs)).toEqual([...kept, 'reduced'])
    expect(paths).toHaveLength(70 - kept.length)
  })

  it('lists 20 paths, sorted, and counts them when there are more', () => {
    const dirty = (n: number) =>
      Object.fromEntries(
        Array.from({ length: n }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'a\u0001']),
      )
    const twenty = reduced(presented({ attributes: dirty(20) }))
    expect(twenty.attrs.reduced).toEqual(
      Array.from({ length: 20 }, (_, i) => `attributes.k${String(i).padStart(2, '0')}`),
    )
    expect('reduced_count' in twenty.attrs).toBe(false)
    const more = reduceEvent(presented({ attributes: dirty(21) }))
    expect(more.ok).toBe(true)
    if (!more.ok) return
    const attrs = more.event.attributes as Record<string, unknown>
    expect(attrs.reduced).toHaveLength(20)
    expect(attrs.reduced_count).toBe(21)
    expect(more.reduced).toHaveLength(21)
  })

  it('drops attributes that are not an object', () => {
    for (const attributes of ['x', [1], null]) {
      const { event, reduced: paths } = reduced(presented({ attributes }))
      expect(paths).toEqual(['attributes'])
      expect((event.attributes as Record<string, unknown>).reduced).toEqual(['attributes'])
    }
  })
})

describe('reduceEvent: maxBytes', () => {
  const size = (e: unknown) => Buffer.byteLength(JSON.stringify(e))

  it('leaves an event that fits exactly alone', () => {
    const input = presented({ attributes: { a: 'é'.repeat(100) } })
    const whole = reduced(input)
    expect(reduced(input, size(whole.event)).reduced).toEqual([])
  })

  it('halves the largest string first, never an identity member or the marker', () => {
    const input = presented({ client_id: 'c'.repeat(100), attributes: { a: 'x'.repeat(300) } })
    const whole = size(reduced(input).event)
    const { event, attrs, reduced: paths } = reduced(input, whole - 100)
    expect(attrs.a).toBe('x'.repeat(150))
    expect(event.client_id).toBe('c'.repeat(100))
    expect(paths).toEqual(['attributes.a'])
    expect(size(event)).toBeLessThanOrEqual(whole - 100)
  })

  it('an attribute named like an identity member is cut like any other', () => {
    const input = presented({ attributes: { reason: 'x'.repeat(300) } })
    const whole = size(reduced(input).event)
    const { attrs, reduced: paths } = reduced(input, whole - 100)
    expect(attrs.reason).toBe('x'.repeat(150))
    expect(paths).toEqual(['attributes.reason'])
  })

  it('never cuts the marker, even when it is the largest member', () => {
    const dirty = Object.fromEntries(
      Array.from({ length: 25 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'a\u0001']),
    )
    const input = presented({ attributes: { ...dirty, a: 'x'.repeat(100) } })
    const whole = reduced(input)
    const { attrs } = reduced(input, size(whole.event) - 30)
    expect(attrs.reduced).toHaveLength(20)
    expect(attrs.reduced_count).toBe(26)
    expect(attrs.a).toBe('x'.repeat(50))
  })

  it('halves a top-level member that is not identity', () => {
    const input = presented({ client_id: 'c'.repeat(200) })
    const whole = size(reduced(input).event)
    const { event, reduced: paths } = reduced(input, whole - 50)
    expect(event.client_id).toBe('c'.repeat(100))
    expect(paths).toEqual(['client_id'])
  })

  it('halves a list by its JSON size', () => {
    const l = Array.from({ length: 40 }, (_, i) => `item-${i}`)
    const input = presented({ attributes: { l, s: 'x'.repeat(100) } })
    const whole = size(reduced(input).event)
    const { attrs, reduced: paths } = reduced(input, whole - 100)
    expect(attrs.l).toEqual(l.slice(0, 20))
    expect(attrs.s).toBe('x'.repeat(100))
    expect(paths).toEqual(['attributes.l'])
  })

  it('cuts the other members, round by round, never an identity member', () => {
    // Identity values longer than what is cut: a mistaken cut would pick them first.
    const identity = {
      tenant: 't'.repeat(40),
      resource: `https://mcp.example/${'r'.repeat(80)}`,
    }
    const input = presented({ ...identity, attributes: { a: 'x'.repeat(60) } })
    const whole = size(reduced(input).event)
    // a: 60 -> 30 -> 15 -> 8; the marker ("reduced":["attributes.a"],) costs 27 characters.
    const { event, attrs, reduced: paths } = reduced(input, whole - 20)
    expect(attrs.a).toBe('x'.repeat(8))
    expect(paths).toEqual(['attributes.a'])
    const original: Record<string, unknown> = { ...presented(), ...identity }
    for (const key of [
      'event_id',
      'event_type',
      'occurred_at',
      'tenant',
      'resource',
      'decision',
      'reason',
    ])
      expect(event[key], key).toBe(original[key])
  })
})

describe('cutAt and fingerprintToken', () => {
  it('cutAt never ends in the first half of a pair, at either end of the high range', () => {
    expect(cutAt('a\ud800\udc00', 2)).toBe('a')
    expect(cutAt('a\udbff\udfff', 2)).toBe('a')
    expect(cutAt('a\ud7ff', 2)).toBe('a\ud7ff')
    expect(cutAt('ab\ud83d', 3)).toBe('ab\ud83d')
    expect(cutAt('abc', 5)).toBe('abc')
  })

  it('cleanText of a long text keeps its first max characters', () => {
    expect(cleanText(`${'a'.repeat(99)}b${'c'.repeat(900)}`, 100)).toBe(`${'a'.repeat(99)}b`)
  })

  it('fingerprintToken is base64url SHA-256, or HMAC with a key; refuses bad input', () => {
    expect(fingerprintToken('abc')).toBe(createHash('sha256').update('abc').digest('base64url'))
    expect(fingerprintToken('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0')
    expect(fingerprintToken('abc', 'k')).not.toBe(fingerprintToken('abc'))
    expect(fingerprintToken('abc', new Uint8Array([1]))).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const token = 'fingerprintToken: token must be a non-empty string'
    const key = 'fingerprintToken: key must be a non-empty string or Uint8Array'
    expect(() => fingerprintToken('')).toThrow(token)
    expect(() => fingerprintToken(5 as unknown as string)).toThrow(token)
    expect(() => fingerprintToken('abc', '')).toThrow(key)
    expect(() => fingerprintToken('abc', new Uint8Array(0))).toThrow(key)
    expect(() => fingerprintToken('abc', 5 as unknown as string)).toThrow(key)
  })
})
