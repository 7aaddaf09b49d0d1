/**
 * The blocks of days of client_activity_blocks (migration 0019) that tile a window from a day to
 * now: for each level L of 1, 2, 4, 8 and 16 days, the block [D_L, D_L + L) when D_L, the first
 * multiple of L from the window's first day D, is not a multiple of 2L (then D_L + L is D_2L);
 * then every 32-day block from D_32 on. Days are counted from 1970-01-01 (UTC), as
 * `toUInt32(day)` counts them. Each day from D on is in exactly one of these blocks, and no day
 * before D is (test/storage/day-blocks.test.ts).
 */

const DAY_MS = 86_400_000
/** The levels below the top one, and the top one (blocks of 32 days). */
export const PARTIAL_LEVELS = [1, 2, 4, 8, 16] as const
export const TOP_LEVEL = 32

export interface DayBlockCover {
  /** Per level below the top one: whether its block is in the window, and the block's first day. */
  partial: { level: number; take: boolean; start: number }[]
  /** Every top-level block starting on or after this day is in the window. */
  topFrom: number
}

/** The blocks tiling the days from `day` (days since 1970-01-01) on. */
export function dayBlockCover(day: number): DayBlockCover {
  const first = (level: number) => Math.ceil(day / level) * level
  return {
    partial: PARTIAL_LEVELS.map((level) => {
      const start = first(level)
      return { level, take: (start / level) % 2 === 1, start }
    }),
    topFrom: first(TOP_LEVEL),
  }
}

/** The UTC day (days since 1970-01-01) of a time in ms. */
export const dayNumber = (ms: number) => Math.floor(ms / DAY_MS)

/** A day number as YYYY-MM-DD (a Date parameter). */
export const dayText = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10)

/** client-usage.sql's parameters for the window from the UTC day of `since` (ms): from_L, take_L, from_32. */
export function dayBlockParams(since: number): Record<string, string | boolean> {
  const cover = dayBlockCover(dayNumber(since))
  const params: Record<string, string | boolean> = {}
  for (const { level, take, start } of cover.partial) {
    params[`from_${level}`] = dayText(start)
    params[`take_${level}`] = take
  }
  params[`from_${TOP_LEVEL}`] = dayText(cover.topFrom)
  return params
}
