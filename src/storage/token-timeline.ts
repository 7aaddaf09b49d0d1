/**
 * Rows of token_timeline (migration 0018): a token's events, each stored as the JSONEachRow text of
 * the columns the API shows (`event`), beside the columns its queries filter and sort on. Reading
 * one JSON column of a granule costs the engine a fraction of reading the 61 columns it holds
 * (each column of each part read has a cost of its own); the parse here is cheap by comparison.
 */
import type { StoredEvent } from '../events/event-row.js'
import type { TokenSummaryRow } from './repositories.js'

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

/** Byte order of UTF-8 text, as ClickHouse sorts strings. */
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))

/**
 * token-summary.sql's answer from a token's presentations, when the caller holds every one of them
 * (the token timeline's first page, when no presentation is left for a next page): per resource
 * (canonical, else as presented) and decision, the distinct events, first and last, sorted by
 * resource and decision, at most `limit` groups. Spares the timeline a query of its own for the
 * tokens whose presentations fit in a page.
 */
export function summarisePresentations(
  presented: readonly StoredEvent[],
  limit: number,
): TokenSummaryRow[] {
  const groups = new Map<string, TokenSummaryRow & { ids: Set<string> }>()
  for (const r of presented) {
    const resource = r.resource_canonical || r.resource
    const id = JSON.stringify([resource, r.decision])
    const g = groups.get(id)
    if (g === undefined)
      groups.set(id, {
        resource,
        decision: r.decision,
        count: 0,
        first_seen: r.occurred_at,
        last_seen: r.occurred_at,
        ids: new Set([r.event_id]),
      })
    else {
      g.ids.add(r.event_id)
      if (r.occurred_at < g.first_seen) g.first_seen = r.occurred_at
      if (r.occurred_at > g.last_seen) g.last_seen = r.occurred_at
    }
  }
  return [...groups.values()]
    .sort((a, b) => byBytes(a.resource, b.resource) || byBytes(a.decision, b.decision))
    .slice(0, limit)
    .map(({ ids, ...g }) => ({ ...g, count: ids.size }))
}
