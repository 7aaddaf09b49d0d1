-- Evidence metrics of one tenant over [since, until) of occurred_at: the per-event counts, read
-- from events, with FINAL or without. The report takes them from report-token-metrics.sql (the hourly rollup
-- and the partial hours at the ends) and reads this query, with FINAL, only when that one finds
-- an event stored twice in the period, so that a redelivered event counts once. The dashboards
-- state the same definitions.
SELECT
    count() AS events,
    countIf(event_type = 'token.presented') AS presentations,
    countIf(event_type = 'token.presented' AND decision = 'accepted') AS accepted,
    countIf(event_type = 'token.presented' AND decision = 'accepted' AND aud_validated = true) AS accepted_validated,
    countIf(event_type = 'token.presented' AND decision = 'accepted' AND aud_match = 'different') AS accepted_mismatches,
    countIf(event_type != 'token.presented') AS token_requests,
    countIf(event_type != 'token.presented' AND notEmpty(requested_resources)) AS token_requests_with_resource,
    countIf(event_type = 'token.presented' AND reason != 'missing_token') AS loggable_presentations,
    countIf(event_type = 'token.presented' AND reason != 'missing_token' AND notEmpty(resource) AND notEmpty(presented_aud)
        AND (source_kind != 'mcp_server' OR (tool_method != '' AND (tool_method != 'tools/call' OR notEmpty(tool_name))))) AS complete_presentations,
    countIf(event_type = 'token.presented' AND source_kind = 'mcp_server') AS mcp_presentations
FROM {{db}}.events {{final}}
WHERE tenant = {tenant:String}
  AND occurred_at >= {since:DateTime64(3, 'UTC')}
  AND occurred_at < {until:DateTime64(3, 'UTC')}
