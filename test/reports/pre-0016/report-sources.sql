-- The sources (authorization servers, resource servers, MCP servers, collectors) of one tenant
-- that reported in [lookback_from, until): their stored events in [since, until) and when they
-- were last seen. A source with no event in the period but one in the lookback before it is
-- silent in the period. Counts are stored rows (the sink stores a redelivered event once). The
-- lookback bounds the scan (a source-activity rollup would remove it; see docs/reports.md).
SELECT
    source_kind,
    source_id,
    countIf(occurred_at >= {since:DateTime64(3, 'UTC')}) AS events,
    minIf(occurred_at, occurred_at >= {since:DateTime64(3, 'UTC')}) AS period_first_seen,
    max(occurred_at) AS last_seen
FROM {{db}}.events
WHERE tenant = {tenant:String}
  AND occurred_at >= {lookback_from:DateTime64(3, 'UTC')}
  AND occurred_at < {until:DateTime64(3, 'UTC')}
GROUP BY source_kind, source_id
ORDER BY events DESC, source_kind, source_id
LIMIT {limit:UInt32}
