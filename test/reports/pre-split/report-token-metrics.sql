-- Evidence metrics of one tenant over [since, until) of occurred_at: the per-event counts and the
-- per-token figures (audiences, lifetime, replay, expiry). The drifted resources come from
-- report-drift.sql, run alongside.
--
-- Whole hours [full_from, full_to) come from the token_usage_hourly rollup (migration 0008), the
-- partial hours at the ends, [since, full_from) and [full_to, until), from report_event_facts
-- (migration 0016: one narrow row per event, sorted by time, the same expressions before
-- aggregation); the caller computes the bounds (full_from is since rounded up to the hour,
-- full_to until rounded down; a period without a whole hour has full_from >= full_to, reads no
-- rollup row and all its facts). Over 10M events a 30-day report reads about 1.5M rollup rows,
-- and the facts of two hours (a few granules: `events`, sorted by client first, spread them over
-- half of its own).
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
            token_hash AS k,
            count() AS events,
            uniqExactState(event_hash) AS ids,
            toUInt64(sum(presented)) AS presentations,
            toUInt64(sum(accepted)) AS accepted,
            toUInt64(sum(accepted_validated)) AS accepted_validated,
            toUInt64(sum(accepted_mismatch)) AS accepted_mismatches,
            toUInt64(sum(token_request)) AS token_requests,
            toUInt64(sum(token_request_with_resource)) AS token_requests_with_resource,
            toUInt64(sum(loggable)) AS loggable_presentations,
            toUInt64(sum(complete)) AS complete_presentations,
            toUInt64(sum(mcp)) AS mcp_presentations,
            max(aud_count) AS max_aud,
            min(resource_hash) AS least_resource,
            max(resource_hash) AS greatest_resource,
            max(outside) AS outside,
            max(exp) AS exp,
            max(accepted_at) AS last_accepted,
            max(lifetime) AS lifetime
        FROM {{db}}.report_event_facts
        WHERE tenant = {tenant:String}
          AND occurred_at >= {since:DateTime64(3, 'UTC')}
          AND occurred_at < {until:DateTime64(3, 'UTC')}
          AND (occurred_at < {full_from:DateTime64(3, 'UTC')} OR occurred_at >= {full_to:DateTime64(3, 'UTC')})
        GROUP BY k
    )
    GROUP BY k
) AS t
