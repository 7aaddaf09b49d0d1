/**
 * Sender-constrained coverage (issue 27): the share of tokens that are bound (DPoP `cnf.jkt`,
 * mTLS `cnf.x5t#S256`) and of accepted presentations that proved possession, per client and per
 * resource. Read from `events` (columns of migration 0014) by sql/queries/sender-constraint-coverage.sql.
 */
import type { ClickHouseConnection } from './client.js'
import { mapStorageError } from './errors.js'
import { loadQuery } from './sql.js'
import { toDateTime64 } from '../events/event-row.js'

export interface CoverageRow {
  dimension: 'client' | 'resource'
  /** the client id, or the canonical resource */
  name: string
  tokens: number
  bound_tokens: number
  /** accepted presentations */
  presentations: number
  /** accepted presentations with a valid DPoP proof or client certificate */
  proven_presentations: number
}

export interface CoverageQuery {
  tenant: string
  /** RFC 3339 or epoch milliseconds; [since, until) of occurred_at */
  since: string | number
  until: string | number
  maxRows?: number
}

export async function senderConstraintCoverage(
  storage: ClickHouseConnection,
  q: CoverageQuery,
): Promise<CoverageRow[]> {
  try {
    const rs = await storage.client.query({
      query: loadQuery('sender-constraint-coverage', storage.database),
      query_params: {
        tenant: q.tenant,
        since: toDateTime64(q.since),
        until: toDateTime64(q.until),
        max_rows: q.maxRows ?? 10_000,
      },
      format: 'JSONEachRow',
    })
    const rows = await rs.json<Record<string, unknown>>()
    return rows.map((r) => ({
      dimension: r.dimension as CoverageRow['dimension'],
      name: String(r.name),
      tokens: Number(r.tokens),
      bound_tokens: Number(r.bound_tokens),
      presentations: Number(r.presentations),
      proven_presentations: Number(r.proven_presentations),
    }))
  } catch (err) {
    throw mapStorageError(err, 'read sender-constraint coverage')
  }
}
