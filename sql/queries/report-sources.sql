-- The sources (authorization servers, resource servers, MCP servers, collectors) of one tenant
-- that reported before {until}: their stored events in [since, until) and when they were last
-- seen. A source with no event in the period but one before it is silent in the period. Counts
-- are stored rows (the sink stores a redelivered event once).
SELECT
    source_kind,
    source_id,
    countIf(occurred_at >= {since:DateTime64(3, 'UTC')}) AS events,
    minIf(occurred_at, occurred_at >= {since:DateTime64(3, 'UTC')}) AS period_first_seen,
    max(occurred_at) AS last_seen
FROM {{db}}.events
WHERE tenant = {tenant:String}
  AND occurred_at < {until:DateTime64(3, 'UTC')}
GROUP BY source_kind, source_id
ORDER BY events DESC, source_kind, source_id
LIMIT {limit:UInt32}
