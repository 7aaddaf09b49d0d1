/** What the scheduled rules share when they turn one result row of their query into a detection. */
import type { Detection } from '../../rule.js'
import { rowTime } from '../../token-state.js'

/**
 * A detection from a result row: its `tenant`, its `event_ids`, and the time in its `atColumn`
 * (the row's latest, first or last occurrence, as the rule's query names it).
 */
export function resultDetection(
  row: Record<string, unknown>,
  atColumn: string,
  keys: Record<string, string>,
  evidence: Record<string, unknown>,
): Detection {
  return {
    tenant: String(row.tenant),
    keys,
    evidence,
    eventIds: row.event_ids as string[],
    at: rowTime(String(row[atColumn])),
  }
}
