/**
 * Rows of token_timeline (migration 0018): a token's events, each stored as the JSONEachRow text of
 * the columns the API shows (`event`), beside the columns its queries filter and sort on. Reading
 * one JSON column of a granule costs the engine a fraction of reading the 61 columns it holds
 * (each column of each part read has a cost of its own); the parse here is cheap by comparison.
 */
import type { StoredEvent } from '../events/event-row.js'

/** A row of token-events, token-presentations, token-lifecycle or token-timeline-events. */
export interface TimelineRow {
  /** The stored event's columns as one JSONEachRow row, written when the event was stored */
  event: string
  occurred_at: string
  received_at: string
}

/** The Int64 columns of an event: JSON numbers or, written by a session that quotes 64-bit integers, strings. */
const INT64_COLUMNS = ['token_iat', 'token_exp', 'proof_iat'] as const

/**
 * The stored event a row holds, as a query of its columns would give it with this client's
 * settings: 64-bit integers as numbers, and the times from the row's own columns (so that the
 * output settings of the session that wrote the JSON do not show).
 */
export function storedEventOf(row: TimelineRow): StoredEvent {
  const e = JSON.parse(row.event) as Record<string, unknown>
  for (const c of INT64_COLUMNS) if (typeof e[c] === 'string') e[c] = Number(e[c])
  e.occurred_at = row.occurred_at
  e.received_at = row.received_at
  return e as unknown as StoredEvent
}
