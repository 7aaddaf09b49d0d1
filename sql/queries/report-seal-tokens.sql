-- Seal one day of a tenant, first step (src/reports/seal.ts; migration 0020): the figures of
-- each token over the day's rollup rows (report-token-metrics.sql's bit set, five aggregates and
-- counts) as seal {seal_id}, and whether it spans days: it has rollup rows in any other day (the
-- empty key always spans). report-seal-day.sql then sums them into the day's row, so the day's
-- fingerprint (its events) is the sum of exactly the rows sealed here.
INSERT INTO {{db}}.report_sealed_tokens
SELECT
    {tenant:String} AS tenant,
    {day:Date} AS day,
    {seal_id:UInt64} AS seal_id,
    toUInt8(k = cityHash64('') OR k IN (
        SELECT token_hash
        FROM {{db}}.token_usage_hourly
        WHERE tenant = {tenant:String}
          AND (hour < toDateTime({day:Date}, 'UTC') OR hour >= toDateTime({day:Date} + 1, 'UTC'))
    )) AS spanning,
    k AS token_hash,
    f, lo, hi, e, la, lt, s_events, s_presentations, s_accepted, s_accepted_validated, s_accepted_mismatches,
    s_token_requests, s_token_requests_with_resource, s_loggable_presentations, s_complete_presentations, s_mcp_presentations
FROM
(
    SELECT
        token_hash AS k,
        groupBitOr(toUInt8(toUInt8(max_aud > 0) + 2 * toUInt8(max_aud > 1) + 4 * toUInt8(accepted > 0) + 8 * toUInt8(exp IS NOT NULL)
            + 16 * toUInt8(outside > 0) + 32 * toUInt8(least_resource IS NOT NULL) + 64 * toUInt8(lifetime IS NOT NULL))) AS f,
        min(ifNull(least_resource, toUInt64(18446744073709551615))) AS lo,
        max(ifNull(greatest_resource, toUInt64(0))) AS hi,
        max(ifNull(exp, toInt64(-9223372036854775808))) AS e,
        max(toInt64(last_accepted)) AS la,
        max(ifNull(lifetime, toInt64(-9223372036854775808))) AS lt,
        sum(toUInt64(events)) AS s_events,
        sum(toUInt64(presentations)) AS s_presentations,
        sum(toUInt64(accepted)) AS s_accepted,
        sum(toUInt64(accepted_validated)) AS s_accepted_validated,
        sum(toUInt64(accepted_mismatches)) AS s_accepted_mismatches,
        sum(toUInt64(token_requests)) AS s_token_requests,
        sum(toUInt64(token_requests_with_resource)) AS s_token_requests_with_resource,
        sum(toUInt64(loggable_presentations)) AS s_loggable_presentations,
        sum(toUInt64(complete_presentations)) AS s_complete_presentations,
        sum(toUInt64(mcp_presentations)) AS s_mcp_presentations
    FROM {{db}}.token_usage_hourly
    WHERE tenant = {tenant:String}
      AND hour >= toDateTime({day:Date}, 'UTC')
      AND hour < toDateTime({day:Date} + 1, 'UTC')
    GROUP BY k
)
