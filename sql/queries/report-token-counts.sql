-- The counts report-token-metrics.sql includes for the tokens {tokens} (their key hashes: those
-- report-token-repeats.sql found holding an event stored twice), from the same rows: the
-- repository subtracts them, and the report counts those tokens' events again from `events`,
-- each once (report-event-metrics.sql). Only run when the period holds such a token.
SELECT
    sum(events) AS events,
    sum(presentations) AS presentations,
    sum(accepted) AS accepted,
    sum(accepted_validated) AS accepted_validated,
    sum(accepted_mismatches) AS accepted_mismatches,
    sum(token_requests) AS token_requests,
    sum(token_requests_with_resource) AS token_requests_with_resource,
    sum(loggable_presentations) AS loggable_presentations,
    sum(complete_presentations) AS complete_presentations,
    sum(mcp_presentations) AS mcp_presentations
FROM
(
    SELECT
        toUInt64(events) AS events,
        toUInt64(presentations) AS presentations,
        toUInt64(accepted) AS accepted,
        toUInt64(accepted_validated) AS accepted_validated,
        toUInt64(accepted_mismatches) AS accepted_mismatches,
        toUInt64(token_requests) AS token_requests,
        toUInt64(token_requests_with_resource) AS token_requests_with_resource,
        toUInt64(loggable_presentations) AS loggable_presentations,
        toUInt64(complete_presentations) AS complete_presentations,
        toUInt64(mcp_presentations) AS mcp_presentations
    FROM {{db}}.token_usage_hourly
    WHERE tenant = {tenant:String}
      AND hour >= {full_from:DateTime64(3, 'UTC')}
      AND hour < {full_to:DateTime64(3, 'UTC')}
      AND token_hash IN {tokens:Array(UInt64)}
    UNION ALL
    SELECT
        toUInt64(1) AS events,
        toUInt64(presented) AS presentations,
        toUInt64(accepted) AS accepted,
        toUInt64(accepted_validated) AS accepted_validated,
        toUInt64(accepted_mismatch) AS accepted_mismatches,
        toUInt64(token_request) AS token_requests,
        toUInt64(token_request_with_resource) AS token_requests_with_resource,
        toUInt64(loggable) AS loggable_presentations,
        toUInt64(complete) AS complete_presentations,
        toUInt64(mcp) AS mcp_presentations
    FROM {{db}}.report_event_facts FINAL
    WHERE tenant = {tenant:String}
      AND occurred_at >= {since:DateTime64(3, 'UTC')}
      AND occurred_at < {until:DateTime64(3, 'UTC')}
      AND (occurred_at < {full_from:DateTime64(3, 'UTC')} OR occurred_at >= {full_to:DateTime64(3, 'UTC')})
      AND token_hash IN {tokens:Array(UInt64)}
)
