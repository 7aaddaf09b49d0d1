/**
 * What a report request may ask for, validated the same way for the API (query string) and the
 * CLI (flags): a framework (one of the six, or `all` for every one in one report), a period of at
 * most MAX_PERIOD_DAYS given as ISO-8601 date-times with an offset or dates (midnight UTC), and a
 * format. Without `until` the period ends now; without `since` it starts DEFAULT_PERIOD_DAYS
 * before `until`.
 */
import { z } from 'zod'
import { FRAMEWORK_IDS, type FrameworkId } from './control.js'

export const REPORT_FORMATS = ['json', 'csv', 'html'] as const
export type ReportFormat = (typeof REPORT_FORMATS)[number]

export const MAX_PERIOD_DAYS = 366
export const DEFAULT_PERIOD_DAYS = 30
const DAY_MS = 86_400_000
/** ClickHouse DateTime64 ends in 2299; nothing audtrail stores comes near this. */
const LATEST = Date.parse('2200-01-01T00:00:00.000Z')

/**
 * A point in time as the CLI and the API take it: an RFC 3339 date-time with an offset, or a plain
 * date (`YYYY-MM-DD`, midnight UTC). `instantMs` reads one.
 */
export const Instant = z.union([z.iso.datetime({ offset: true }), z.iso.date()])

/** The ms since the epoch of a validated Instant (a plain date is midnight UTC). */
export const instantMs = (text: string): number => Date.parse(text)

export const REPORT_REQUEST_SHAPE = {
  framework: z.enum([...FRAMEWORK_IDS, 'all']),
  since: Instant.optional(),
  until: Instant.optional(),
  format: z.enum(REPORT_FORMATS).default('json'),
  /**
   * API only: `1` sends the report as an attachment (Content-Disposition), `0` or absent shows it
   * inline (HTML in the browser, beside a download link).
   */
  download: z.enum(['0', '1']).optional(),
}

export interface ReportPeriod {
  /** ms since the epoch, inclusive */
  since: number
  /** ms since the epoch, exclusive */
  until: number
}

/** The period of a validated request, with the defaults applied. */
export function reportPeriod(
  input: { since?: string; until?: string },
  now: number = Date.now(),
): ReportPeriod {
  const until = input.until === undefined ? now : instantMs(input.until)
  const since =
    input.since === undefined ? until - DEFAULT_PERIOD_DAYS * DAY_MS : instantMs(input.since)
  return { since, until }
}

/** Period problems as zod issues (for `superRefine`). */
export function checkPeriod(
  input: { since?: string; until?: string },
  ctx: z.RefinementCtx,
  now: number = Date.now(),
): void {
  const { since, until } = reportPeriod(input, now)
  if (since < 0 || until > LATEST)
    ctx.addIssue({ code: 'custom', path: ['since'], message: 'period outside 1970..2199' })
  else if (since >= until)
    ctx.addIssue({ code: 'custom', path: ['since'], message: 'since must be before until' })
  else if (until - since > MAX_PERIOD_DAYS * DAY_MS)
    ctx.addIssue({
      code: 'custom',
      path: ['until'],
      message: `the period may span at most ${MAX_PERIOD_DAYS} days`,
    })
}

export const ReportRequest = z.strictObject(REPORT_REQUEST_SHAPE).superRefine((v, ctx) => {
  checkPeriod(v, ctx)
})
export type ReportRequest = z.output<typeof ReportRequest>

/** The frameworks a request names. */
export function requestedFrameworks(framework: FrameworkId | 'all'): FrameworkId[] {
  return framework === 'all' ? [...FRAMEWORK_IDS] : [framework]
}
