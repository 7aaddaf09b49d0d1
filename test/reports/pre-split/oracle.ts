/**
 * The token metrics as one query grouped every token with all its figures (before the split into
 * report-token-metrics.sql and report-token-repeats.sql, and before sealed days), verbatim from
 * report-token-metrics.sql beside this file: the oracle the report's faster paths are compared with.
 */
import { readFileSync } from 'node:fs'
import { toDateTime64 } from '../../../src/events/event-row.js'
import type { ClickHouseStorage } from '../../../src/storage/client.js'
import type { Repositories, TokenMetricsRow } from '../../../src/storage/repositories.js'
import { quoteIdentifier } from '../../../src/storage/sql.js'

const HOUR = 3_600_000

/** `storage`'s report repositories with tokenMetrics answered by the pre-split query. */
export function preSplitReports(storage: ClickHouseStorage): Pick<Repositories, 'reports'> {
  const query = readFileSync(
    new URL('./report-token-metrics.sql', import.meta.url),
    'utf8',
  ).replaceAll('{{db}}', quoteIdentifier(storage.database))
  return {
    reports: {
      ...storage.reports,
      async tokenMetrics(scope, { clockSkewS, maxRepeated }) {
        const rs = await storage.client.query({
          query,
          query_params: {
            tenant: scope.tenant,
            since: toDateTime64(scope.since),
            until: toDateTime64(scope.until),
            full_from: toDateTime64(Math.ceil(scope.since / HOUR) * HOUR),
            full_to: toDateTime64(Math.floor(scope.until / HOUR) * HOUR),
            clock_skew_s: clockSkewS,
            max_repeated: maxRepeated,
          },
          format: 'JSONEachRow',
        })
        return (await rs.json<TokenMetricsRow>())[0]!
      },
    },
  }
}
