-- The compliance report's counts of the tokens report-token-metrics.sql found holding an event
-- stored twice ({tokens}: their key hashes), each event once, over the whole period; that query
-- counts the other tokens. Each event once: the caller fills the one_per_event fragment with
-- LIMIT 1 BY event_id (the versions of an event are equal in every column counted here) and
-- leaves the final fragment empty. With whole_period (too many such tokens to list), every event
-- of the period with FINAL instead, which over 10M events takes 0.9 s against 2 s for LIMIT 1 BY.
-- The dashboards state the same definitions.
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
FROM
(
    SELECT event_type, decision, aud_validated, aud_match, requested_resources, reason, resource,
        presented_aud, source_kind, tool_method, tool_name
    FROM {{db}}.events {{final}}
    WHERE tenant = {tenant:String}
      AND occurred_at >= {since:DateTime64(3, 'UTC')}
      AND occurred_at < {until:DateTime64(3, 'UTC')}
      AND ({whole_period:Bool} OR cityHash64(token_key) IN {tokens:Array(UInt64)})
    {{one_per_event}}
)
