/**
 * What a reduction never changes: the facts that name the event's token and source. Cut, a
 * token's jti or a source's id would name another token or source (another token key, another
 * source in every report). And what it never drops silently: members past the copy's bound.
 */
import { describe, expect, it } from 'vitest'
import { reduceEvent } from '../../src/events/reduce.js'
import { tokenKey } from '../../src/events/token-key.js'
import { presentedEvent } from '../helpers/events.js'

type Event = Record<string, unknown> & { token: Record<string, unknown> }

describe('a reduction to a byte budget', () => {
  const cases: [string, (e: Event) => void][] = [
    ['a long token jti', (e) => (e.token.jti = `at-${'j'.repeat(150)}`)],
    ['a long source id', (e) => (e.source = { kind: 'mcp_server', id: `mcp-${'s'.repeat(124)}` })],
  ]
  it.each(cases)('keeps %s whole, and cuts what is larger instead', (_, change) => {
    // Many texts, each shorter than the identity text: that one is the largest to halve.
    const notes = Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [`note${i}`, 'n'.repeat(110)]),
    )
    const event = presentedEvent({ attributes: notes }) as Event
    change(event)
    const before = JSON.parse(JSON.stringify(event)) as Event
    const r = reduceEvent(event, { maxBytes: 2048 })
    expect(r.ok).toBe(true)
    if (!r.ok) return
    const out = r.event as unknown as Event
    expect(out.token.jti).toBe(before.token.jti)
    expect(out.source).toEqual(before.source)
    if (before.subject_token)
      expect(out.subject_token).toMatchObject(before.subject_token as object)
    expect(tokenKey(r.event)).toBe(tokenKey(before as never))
    expect(r.reduced.some((p) => p.startsWith('attributes.note'))).toBe(true)
    expect(Buffer.byteLength(JSON.stringify(r.event))).toBeLessThanOrEqual(2048)
  })

  it('refuses an event whose identity alone exceeds the budget, rather than renaming it', () => {
    const event = presentedEvent() as Event
    event.token.jti = `at-${'j'.repeat(190)}`
    const r = reduceEvent(event, { maxBytes: 200 })
    if (r.ok) expect((r.event as unknown as Event).token.jti).toBe(event.token.jti)
    else expect(r.reasons.length).toBeGreaterThan(0)
  })
})

describe('the copy bound of one object', () => {
  const withMembers = (n: number) =>
    presentedEvent({
      attributes: { big: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])) },
    })

  it('keeps an object of 256 members whole, with nothing listed', () => {
    const r = reduceEvent(withMembers(256))
    expect(r.ok && r.reduced).toEqual([])
    expect(r.ok && Object.keys((r.event.attributes as { big: object }).big)).toHaveLength(256)
  })

  it('keeps the first 256 members of a larger object and lists it as reduced', () => {
    const r = reduceEvent(withMembers(257))
    expect(r.ok && r.reduced).toEqual(['attributes.big'])
    expect(r.ok && Object.keys((r.event.attributes as { big: object }).big)).toHaveLength(256)
  })
})
