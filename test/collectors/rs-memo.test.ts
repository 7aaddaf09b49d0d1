/**
 * The collector's bounded memos (rs/memo.ts): the value is always the function's, the memo never
 * holds more than its bounds and keeps nothing `keep` refuses (a text the screen changed, which
 * could be a raw JWT).
 */
import { describe, expect, it, vi } from 'vitest'
import { textMemo } from '../../src/collectors/rs/memo.js'
import { ipAddress, requestPath, userAgent } from '../../src/collectors/rs/sanitize.js'
import { RAW_JWT_REMOVED } from '../../src/events/raw-token.js'

describe('textMemo', () => {
  it("gives the function's value and computes a repeated input once", () => {
    const fn = vi.fn((s: string) => s.toUpperCase())
    const memo = textMemo(fn, { entries: 8, chars: 100, maxLength: 10 })
    expect([memo('ab'), memo('ab'), memo('cd'), memo('ab')]).toEqual(['AB', 'AB', 'CD', 'AB'])
    expect(fn).toHaveBeenCalledTimes(2)
    expect(memo.size).toBe(2)
  })

  it('never holds more entries or characters than its bounds, nor inputs over maxLength', () => {
    const fn = vi.fn((s: string) => s.length)
    const memo = textMemo(fn, { entries: 5, chars: 20, maxLength: 8 })
    let sizes = 0
    for (let i = 0; i < 200; i++) {
      const input = `${i}`.padEnd((i % 9) + 1, '.')
      expect(memo(input)).toBe(input.length)
      expect(memo.size).toBeLessThanOrEqual(5)
      sizes = Math.max(sizes, memo.size)
    }
    expect(sizes).toBeGreaterThan(1)
    // Over maxLength: computed each time, never kept.
    const long = 'y'.repeat(9)
    const before = fn.mock.calls.length
    memo(long)
    memo(long)
    expect(fn.mock.calls.length - before).toBe(2)
    // A character budget: 4 inputs of 8 characters never share the memo with a fifth.
    const small = textMemo((s: string) => s, { entries: 100, chars: 32, maxLength: 8 })
    for (let i = 0; i < 5; i++) small(`${i}`.padEnd(8, '-'))
    expect(small.size).toBeLessThanOrEqual(4)
  })

  it('keeps nothing keep() refuses', () => {
    const fn = vi.fn((s: string) => s.trim())
    const memo = textMemo(fn, { entries: 8, chars: 100, maxLength: 50 }, (i, v) => i === v)
    memo(' padded ')
    memo(' padded ')
    memo('plain')
    memo('plain')
    expect(fn).toHaveBeenCalledTimes(3)
    expect(memo.size).toBe(1)
  })
})

describe('the memoized request texts', () => {
  const jwt =
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.' +
    'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'

  it('cut a raw JWT from a path or user agent every time it is seen', () => {
    for (let i = 0; i < 3; i++) {
      expect(requestPath(`/mcp/${jwt}?q=1`)).not.toContain(jwt)
      expect(requestPath(`/mcp/${jwt}`)).toContain(RAW_JWT_REMOVED)
      expect(userAgent(`agent ${jwt}`)).not.toContain(jwt)
    }
  })

  it('are the same as the first time for ordinary texts', () => {
    for (let i = 0; i < 3; i++) {
      expect(requestPath('/items?x=1')).toBe('/items')
      expect(requestPath(undefined)).toBe('/')
      expect(requestPath('')).toBe('/')
      expect(userAgent('curl/8.5')).toBe('curl/8.5')
      expect(userAgent('')).toBeUndefined()
      expect(userAgent(['a', 'b'])).toBeUndefined()
      expect(userAgent('a\u0000b')).toBe('a\uFFFDb')
      expect(ipAddress('10.0.0.1')).toBe('10.0.0.1')
      expect(ipAddress('fe80::1%eth0')).toBe('fe80::1')
      expect(ipAddress('999.0.0.1')).toBeUndefined()
      expect(ipAddress('not an address')).toBeUndefined()
    }
  })
})
