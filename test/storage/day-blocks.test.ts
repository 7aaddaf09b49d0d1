/** The blocks of days client-usage.sql reads (src/storage/day-blocks.ts) tile its window exactly. */
import { describe, expect, it } from 'vitest'
import {
  dayBlockCover,
  dayBlockParams,
  dayNumber,
  dayText,
  PARTIAL_LEVELS,
  TOP_LEVEL,
} from '../../src/storage/day-blocks.js'

/** Every day of [from, to) covered by the blocks of `dayBlockCover(d)`, with how often. */
function covered(d: number, from: number, to: number): Map<number, number> {
  const cover = dayBlockCover(d)
  const blocks = cover.partial.filter((b) => b.take).map((b) => [b.start, b.level] as const)
  for (let s = cover.topFrom; s < to; s += TOP_LEVEL) blocks.push([s, TOP_LEVEL])
  const seen = new Map<number, number>()
  for (const [start, level] of blocks) {
    // A block is aligned to its level, as the view stores it.
    if (start % level !== 0) throw new Error(`block ${start} of level ${level} not aligned`)
    for (let day = start; day < start + level; day++)
      if (day >= from && day < to) seen.set(day, (seen.get(day) ?? 0) + 1)
  }
  return seen
}

describe('dayBlockCover', () => {
  it('covers each day from the first one on exactly once, and no day before it', () => {
    const wrong: [number, number, number][] = []
    for (let d = 0; d < 1500; d++) {
      const seen = covered(d, Math.max(0, d - 64), d + 200)
      for (let day = Math.max(0, d - 64); day < d + 200; day++)
        if ((seen.get(day) ?? 0) !== (day >= d ? 1 : 0)) wrong.push([d, day, seen.get(day) ?? 0])
    }
    expect(wrong).toEqual([])
  })

  it('takes at most one block of each level below the top one', () => {
    for (let d = 20000; d < 20400; d++) {
      const taken = dayBlockCover(d).partial.filter((b) => b.take)
      expect(taken.length).toBeLessThanOrEqual(PARTIAL_LEVELS.length)
      // A day that starts a 32-day block needs no smaller one.
      if (d % TOP_LEVEL === 0) expect(taken).toEqual([])
    }
  })

  it('binds the parameters client-usage.sql names, for the UTC day of the time', () => {
    // 2026-11-12 is day 20769: every level below 32 takes its block (1 + 2 + 4 + 8 + 16 days:
    // 20769, 20770-20771, 20772-20775, 20776-20783, 20784-20799), then 32-day blocks from 20800.
    const since = Date.parse('2026-11-12T17:45:00Z')
    expect(dayNumber(since)).toBe(20769)
    expect(dayBlockParams(since)).toEqual({
      from_1: '2026-11-12',
      take_1: true,
      from_2: '2026-11-13',
      take_2: true,
      from_4: '2026-11-15',
      take_4: true,
      from_8: '2026-11-19',
      take_8: true,
      from_16: '2026-11-27',
      take_16: true,
      from_32: '2026-12-13',
    })
    // 2026-11-11 (day 20768) starts a 32-day block: no smaller one.
    expect(dayBlockCover(20768).partial.some((b) => b.take)).toBe(false)
    expect(dayText(20768)).toBe('2026-11-11')
  })
})
