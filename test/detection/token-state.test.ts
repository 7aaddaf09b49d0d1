import { describe, expect, it } from 'vitest'
import { applyToState, rowTime } from '../../src/detection/token-state.js'
import { parseEvent } from '../../src/events/parse.js'
import { toDateTime64, toEventRow, type EventRow } from '../../src/events/event-row.js'
import { presentedEvent, presentedRow } from '../helpers/events.js'

const presented = () => {
  const parsed = parseEvent(presentedEvent())
  if (!parsed.ok) throw new Error(parsed.reasons.join('; '))
  return parsed.event
}

const slow = (value: string) => Date.parse(`${value.replace(' ', 'T')}Z`)

describe('rowTime', () => {
  it('reads a DateTime64 text as the same instant Date.parse does', () => {
    let at = Date.parse('1999-12-31T23:59:59.999Z')
    for (let i = 0; i < 2000; i++) {
      at += Math.floor(Math.random() * 40 * 86_400_000)
      const text = toDateTime64(new Date(at).toISOString())
      expect(rowTime(text)).toBe(at)
    }
    for (const text of [
      '2024-02-29 12:00:00.000',
      '2000-02-29 00:00:00.001',
      '1970-01-01 00:00:00.000',
    ])
      expect(rowTime(text)).toBe(slow(text))
  })

  it('gives what Date.parse gives for text out of range or of another form', () => {
    for (const text of [
      '2026-13-01 00:00:00.000',
      '2026-02-30 00:00:00.000',
      '2100-02-29 00:00:00.000',
      '2026-12-06 24:00:00.000',
      '2026-12-06 05:60:00.000',
      '2026-12-06 05:00:00.1x3',
      '2026-12-06 05:00:00',
      'not a time',
    ])
      expect(Object.is(rowTime(text), slow(text))).toBe(true)
  })
})

describe('toDateTime64', () => {
  it('converts epoch milliseconds and RFC 3339 text alike, the same value twice in a row too', () => {
    const ms = Date.parse('2026-12-06T05:00:00.123Z')
    expect(toDateTime64(ms)).toBe('2026-12-06 05:00:00.123')
    expect(toDateTime64(ms)).toBe('2026-12-06 05:00:00.123')
    expect(toDateTime64(ms + 1)).toBe('2026-12-06 05:00:00.124')
    expect(toDateTime64('2026-12-06T05:00:00.123Z')).toBe('2026-12-06 05:00:00.123')
    expect(toDateTime64('2026-12-06T05:00:00Z')).toBe('2026-12-06 05:00:00')
  })
})

describe('the audience a token state learns', () => {
  const row = (aud: string[], field: 'token_aud_canonical' | 'presented_aud_canonical') =>
    ({
      ...toEventRow(presented(), { receivedAt: Date.now() }),
      token_aud_canonical: [],
      presented_aud_canonical: [],
      [field]: aud,
    }) as EventRow

  it('grows by the audiences not seen yet, in order, without repeats, and stays the same list otherwise', () => {
    const a = applyToState(undefined, row(['https://a', 'https://b'], 'token_aud_canonical'))!
    expect(a.audience).toEqual(['https://a', 'https://b'])
    const same = a.audience
    applyToState(a, row(['https://b'], 'token_aud_canonical'))
    expect(a.audience).toBe(same)
    applyToState(a, row(['https://c', 'https://a', 'https://c'], 'token_aud_canonical'))
    expect(a.audience).toEqual(['https://a', 'https://b', 'https://c'])
    applyToState(a, row(['https://d'], 'presented_aud_canonical'))
    expect(a.audience).toEqual(['https://a', 'https://b', 'https://c', 'https://d'])
    const b = applyToState(undefined, row(['https://x', 'https://x'], 'presented_aud_canonical'))!
    expect(b.audience).toEqual(['https://x'])
  })
})

describe('the presentations a token state counts', () => {
  it('counts and lists an event read again once, and a new event at the same resource again', () => {
    const row = presentedRow()
    const again = applyToState(applyToState(undefined, row), { ...row })
    const p = again!.presentations.get(row.resource_canonical)!
    expect({ count: p.count, eventIds: p.eventIds }).toEqual({ count: 1, eventIds: [row.event_id] })
    const next = { ...row, event_id: crypto.randomUUID() }
    const after = applyToState(again, next)!.presentations.get(row.resource_canonical)!
    expect({ count: after.count, eventIds: after.eventIds }).toEqual({
      count: 2,
      eventIds: [row.event_id, next.event_id],
    })
  })
})
