/** The shape of every list response: `{ items, next_cursor }` (null when there is no next page). */
import { z } from 'zod'

export function listOf<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    next_cursor: z
      .string()
      .nullable()
      .describe('pass as `cursor` for the next page; null on the last page'),
  })
}
