-- Evidence metrics of one tenant over [since, until) of occurred_at: the per-event counts and the
-- per-token figures (audiences, lifetime, replay, expiry). The drifted resources come from
-- report-drift.sql, run alongside.
--
-- Whole hours [full_from, full_to) come from the token_usage_hourly rollup (migration 0008), the
-- partial hours at the ends, [since, full_from) and [full_to, until), from events; the caller
-- computes the bounds (full_from is since rounded up to the hour, full_to until rounded down; a
-- period without a whole hour has full_from >= full_to, reads no rollup row and all its events).
-- Over 10M events a 30-day report reads about 1.5M rollup rows, and the events of two hours.
--
-- Per token key (as a 64-bit hash): events without a token (authorization requests,
-- missing_token presentations) share the group of the empty key, which the counts include and
-- no token figure counts (a collision of two keys is negligible at 2^-64 a pair). Two or more
-- canonical resources per token: the least and greatest hash of its resources differ.
-- Audiences: granted at issuance, presented at a resource server.
--
-- No FINAL: the token figures are maxima, minima and conditions, which a version of an event
-- stored twice cannot change; the counts can. The versions of an event share its token key (and
-- hour), so a token whose events outnumber its distinct event ids (ids compared by 64-bit hash:
-- a collision could only cost an extra read) holds a repeat: tokens_with_repeats counts them,
-- repeated_tokens lists their hashes (as strings, being 64-bit; at most {max_repeated}), and the
-- counts cover the other tokens only. The caller adds the counts of those tokens' events, each event once, from
-- report-event-metrics.sql.
SELECT
    countIf(t.events != t.distinct_events) AS tokens_with_repeats,
    arraySlice(groupArrayIf(toString(t.k), t.events != t.distinct_events), 1, {max_repeated:UInt32}) AS repeated_tokens,
    sumIf(t.events, t.events = t.distinct_events) AS events,
    sumIf(t.presentations, t.events = t.distinct_events) AS presentations,
    sumIf(t.accepted, t.events = t.distinct_events) AS accepted,
    sumIf(t.accepted_validated, t.events = t.distinct_events) AS accepted_validated,
    sumIf(t.accepted_mismatches, t.events = t.distinct_events) AS accepted_mismatches,
    sumIf(t.token_requests, t.events = t.distinct_events) AS token_requests,
    sumIf(t.token_requests_with_resource, t.events = t.distinct_events) AS token_requests_with_resource,
    sumIf(t.loggable_presentations, t.events = t.distinct_events) AS loggable_presentations,
    sumIf(t.complete_presentations, t.events = t.distinct_events) AS complete_presentations,
    sumIf(t.mcp_presentations, t.events = t.distinct_events) AS mcp_presentations,
    countIf(t.k != cityHash64('') AND t.max_aud > 0) AS tokens_with_aud,
    countIf(t.k != cityHash64('') AND t.max_aud > 1) AS multi_audience_tokens,
    countIf(t.k != cityHash64('') AND t.least_resource != t.greatest_resource AND t.outside) AS cross_audience_replays,
    countIf(t.k != cityHash64('') AND t.exp IS NOT NULL AND t.accepted > 0) AS accepted_tokens_with_exp,
    countIf(t.k != cityHash64('') AND t.accepted > 0 AND t.last_accepted - t.exp > {clock_skew_s:Int64}) AS expired_tokens_accepted,
    countIf(t.k != cityHash64('') AND t.lifetime IS NOT NULL) AS tokens_with_lifetime,
    quantilesExactInclusiveIf(0.5, 0.95)(toFloat64(assumeNotNull(t.lifetime)), t.k != cityHash64('') AND t.lifetime IS NOT NULL) AS lifetime_quantiles
FROM
(
    SELECT
        k,
        sum(events) AS events,
        uniqExactMerge(ids) AS distinct_events,
        sum(presentations) AS presentations,
        sum(accepted) AS accepted,
        sum(accepted_validated) AS accepted_validated,
        sum(accepted_mismatches) AS accepted_mismatches,
        sum(token_requests) AS token_requests,
        sum(token_requests_with_resource) AS token_requests_with_resource,
        sum(loggable_presentations) AS loggable_presentations,
        sum(complete_presentations) AS complete_presentations,
        sum(mcp_presentations) AS mcp_presentations,
        max(max_aud) AS max_aud,
        min(least_resource) AS least_resource,
        max(greatest_resource) AS greatest_resource,
        max(outside) AS outside,
        max(exp) AS exp,
        max(last_accepted) AS last_accepted,
        max(lifetime) AS lifetime
    FROM
    (
        SELECT
            token_hash AS k,
            toUInt64(events) AS events,
            event_ids AS ids,
            toUInt64(presentations) AS presentations,
            toUInt64(accepted) AS accepted,
            toUInt64(accepted_validated) AS accepted_validated,
            toUInt64(accepted_mismatches) AS accepted_mismatches,
            toUInt64(token_requests) AS token_requests,
            toUInt64(token_requests_with_resource) AS token_requests_with_resource,
            toUInt64(loggable_presentations) AS loggable_presentations,
            toUInt64(complete_presentations) AS complete_presentations,
            toUInt64(mcp_presentations) AS mcp_presentations,
            toUInt64(max_aud) AS max_aud,
            CAST(least_resource, 'Nullable(UInt64)') AS least_resource,
            CAST(greatest_resource, 'Nullable(UInt64)') AS greatest_resource,
            toUInt8(outside) AS outside,
            CAST(exp, 'Nullable(Int64)') AS exp,
            toInt64(last_accepted) AS last_accepted,
            CAST(lifetime, 'Nullable(Int64)') AS lifetime
        FROM {{db}}.token_usage_hourly
        WHERE tenant = {tenant:String}
          AND hour >= {full_from:DateTime64(3, 'UTC')}
          AND hour < {full_to:DateTime64(3, 'UTC')}
        UNION ALL
        SELECT
            cityHash64(token_key) AS k,
            toUInt64(count()) AS events,
            uniqExactState(cityHash64(event_id)) AS ids,
            toUInt64(countIf(event_type = 'token.presented')) AS presentations,
            toUInt64(countIf(event_type = 'token.presented' AND decision = 'accepted')) AS accepted,
            toUInt64(countIf(event_type = 'token.presented' AND decision = 'accepted' AND aud_validated = true)) AS accepted_validated,
            toUInt64(countIf(event_type = 'token.presented' AND decision = 'accepted' AND aud_match = 'different')) AS accepted_mismatches,
            toUInt64(countIf(event_type != 'token.presented')) AS token_requests,
            toUInt64(countIf(event_type != 'token.presented' AND notEmpty(requested_resources))) AS token_requests_with_resource,
            toUInt64(countIf(event_type = 'token.presented' AND reason != 'missing_token')) AS loggable_presentations,
            toUInt64(countIf(event_type = 'token.presented' AND reason != 'missing_token' AND notEmpty(resource) AND notEmpty(presented_aud)
                AND (source_kind != 'mcp_server' OR (tool_method != '' AND (tool_method != 'tools/call' OR notEmpty(tool_name)))))) AS complete_presentations,
            toUInt64(countIf(event_type = 'token.presented' AND source_kind = 'mcp_server')) AS mcp_presentations,
            toUInt64(max(greatest(length(arrayDistinct(granted_aud_canonical)), length(arrayDistinct(presented_aud_canonical))))) AS max_aud,
            minOrNullIf(cityHash64(resource_canonical), event_type = 'token.presented' AND notEmpty(resource_canonical)) AS least_resource,
            maxOrNullIf(cityHash64(resource_canonical), event_type = 'token.presented' AND notEmpty(resource_canonical)) AS greatest_resource,
            toUInt8(max(event_type = 'token.presented' AND aud_match = 'different')) AS outside,
            max(token_exp) AS exp,
            maxIf(toInt64(toUnixTimestamp(occurred_at)), event_type = 'token.presented' AND decision = 'accepted') AS last_accepted,
            max(token_exp - token_iat) AS lifetime
        FROM {{db}}.events
        WHERE tenant = {tenant:String}
          AND occurred_at >= {since:DateTime64(3, 'UTC')}
          AND occurred_at < {until:DateTime64(3, 'UTC')}
          AND (occurred_at < {full_from:DateTime64(3, 'UTC')} OR occurred_at >= {full_to:DateTime64(3, 'UTC')})
        GROUP BY k
    )
    GROUP BY k
) AS t
