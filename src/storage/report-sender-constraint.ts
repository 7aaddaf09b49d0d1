/**
 * The sender-constraint evidence of a compliance report (issue 27; src/reports/metrics.ts): how
 * many tokens were bound to a key (DPoP `cnf.jkt`, RFC 9449; mTLS `cnf.x5t#S256`, RFC 8705) and
 * how many accepted presentations proved possession, over the tenant and period of the report.
 * One query, sql/queries/report-sender-constraint.sql, with the definitions of
 * GET /v1/sender-constraint (sender-coverage.ts).
 */
import { StorageError } from '../errors.js'
import { toDateTime64 } from '../events/event-row.js'
import { connectionOf, type ClickHouseConnection, type Storage } from './client.js'
import { mapStorageError } from './errors.js'
import type { ReportScope } from './repositories.js'
import { loadQuery } from './sql.js'

export interface SenderConstraintRow {
  /** distinct tokens issued, exchanged or presented */
  tokens: number
  /** of them, bound by a `cnf` (`jkt` or `x5t#S256`) */
  bound_tokens: number
  /** accepted presentations carrying a token */
  presentations: number
  /** of them, with a valid DPoP proof or client certificate */
  proven_presentations: number
  /** accepted presentations of a bound token, from collectors that record proof facts */
  bound_presentations: number
  /** of them, without a valid proof */
  unproven_bound_presentations: number
}

const COLUMNS = [
  'tokens',
  'bound_tokens',
  'presentations',
  'proven_presentations',
  'bound_presentations',
  'unproven_bound_presentations',
] as const satisfies readonly (keyof SenderConstraintRow)[]

/**
 * The figures of one tenant over [since, until). `final` reads `events` with FINAL, so that an
 * event stored twice counts once in the presentation counts (the token counts are distinct counts
 * either way); the report asks for it when its token rollup saw a repeat in the period.
 */
export async function querySenderConstraint(
  storage: Storage,
  scope: ReportScope,
  { final = false }: { final?: boolean } = {},
): Promise<SenderConstraintRow> {
  let ch: ClickHouseConnection
  try {
    ch = connectionOf(storage)
  } catch {
    // The memory storage answers as it does every report query (memory-repositories.ts): an
    // outage while it is switched off, else no double.
    if ((storage as { available?: boolean }).available === false)
      throw new StorageError('ERR_SINK_UNAVAILABLE', 'memory storage: unavailable', {
        retriable: true,
      })
    throw new StorageError(
      'ERR_STORAGE_QUERY',
      'memory storage: report-sender-constraint has no in-memory double (see docs/design/storage.md)',
    )
  }
  try {
    const rs = await ch.client.query({
      query: loadQuery('report-sender-constraint', ch.database, { final: final ? 'FINAL' : '' }),
      query_params: {
        tenant: scope.tenant,
        since: toDateTime64(scope.since),
        until: toDateTime64(scope.until),
      },
      format: 'JSONEachRow',
    })
    const [row] = await rs.json<Record<string, unknown>>()
    return Object.fromEntries(
      COLUMNS.map((c) => [c, Number(row?.[c] ?? 0)]),
    ) as unknown as SenderConstraintRow
  } catch (err) {
    throw mapStorageError(err, 'compliance report (report-sender-constraint)')
  }
}
