/**
 * One spelling of time in every answer: RFC 3339 UTC with milliseconds and `Z`
 * (`2026-12-07T12:47:09.252Z`). Stored times are ClickHouse DateTime64 text (`2026-12-07
 * 12:47:09.252`, UTC); evidence written by older versions, or copied from rows, may hold either.
 */

/** A date-time as stored or as RFC 3339: a space or T, optional fraction, optional zone. */
const DATE_TIME = /^\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:Z|[+-]\d\d:?\d\d)?$/i

/**
 * `text` as RFC 3339 UTC (`...Z`, milliseconds) when it is a date-time (stored DateTime64 text
 * reads as UTC), else `text` unchanged.
 */
export function rfc3339(text: string): string {
  if (!DATE_TIME.test(text)) return text
  let iso = text.replace(' ', 'T')
  if (!/(?:Z|[+-]\d\d:?\d\d)$/i.test(iso)) iso += 'Z'
  // Date keeps milliseconds: a longer fraction is cut to them.
  iso = iso.replace(/(\.\d{3})\d+/, '$1')
  const ms = Date.parse(iso)
  return Number.isNaN(ms) ? text : new Date(ms).toISOString()
}

/** A JSON value with every date-time string in it as RFC 3339 UTC (a copy; the rest unchanged). */
export function rfc3339Deep(value: unknown): unknown {
  if (typeof value === 'string') return rfc3339(value)
  if (Array.isArray(value)) return value.map(rfc3339Deep)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = rfc3339Deep(v)
    return out
  }
  return value
}
