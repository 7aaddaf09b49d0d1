/** Parameter schemas the scheduled rules share: the same bounds and default, each rule's own wording. */
import { z } from 'zod'

/** Days back a scheduled rule searches: 1 to 400 (the rollups' retention), 30 by default. */
export function lookbackDays(description: string) {
  return z.number().int().min(1).max(400).default(30).describe(description)
}

/** The most detections one scheduled run reports. */
export function maxResults() {
  return z.number().int().positive().default(1000).describe('detections one run reports at most')
}
