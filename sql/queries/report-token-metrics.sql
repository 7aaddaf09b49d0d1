-- Evidence metrics of one tenant over [since, until) of occurred_at: the per-event counts and the
-- per-token figures (audiences, lifetime, replay, expiry). The drifted resources come from
-- report-drift.sql, and the tokens holding an event stored twice from report-token-repeats.sql,
-- both run alongside (the repository subtracts those tokens' counts, report-token-counts.sql).
--
-- Whole hours [full_from, full_to) come from the token_usage_hourly rollup (migration 0008), the
-- partial hours at the ends, [since, full_from) and [full_to, until), from report_event_facts
-- (migration 0016: one narrow row per event, sorted by time, the same expressions before
-- aggregation); the caller computes the bounds (full_from is since rounded up to the hour,
-- full_to until rounded down; a period without a whole hour has full_from >= full_to, reads no
-- rollup row and all its facts).
--
-- Sealed days (migration 0020, docs/design/report-performance.md, "Sealed days"): the whole UTC
-- days {sealed_days} (with their seals {sealed_ids}, same order) were found current by
-- report-sealed-days.sql and free of conflicts by report-sealed-conflicts.sql; their rollup rows
-- are not read: their counts come from report_sealed_days, the tokens of theirs that span days
-- from report_sealed_tokens (one row per token and day, grouped with the rest), and the figures of
-- their other tokens are added as counted when the day was sealed (their lifetimes as one row
-- each, for the exact quantiles). Without sealed days (empty arrays) the query is as before.
--
-- Two parts (docs/design/report-performance.md, "Grouping less"):
--
-- - the counts: sums of every row, grouped by nothing (the rollup's rows are additive);
-- - the per-token figures: the rows grouped by token (as a 64-bit hash) carrying only what the
--   figures need, in five plain aggregates and one bit set: a token's flags (bit 0 an audience,
--   1 two or more, 2 accepted, 3 a known exp, 4 presented outside its aud, 5 presented at a
--   resource, 6 a known lifetime) OR-ed over its rows, and its least and greatest resource
--   hash, exp, last accepted time and lifetime, NULL written as the identity of the aggregate
--   (the flags say whether a value is one). The written values have names of their own (lo,
--   hi, e, la, lt): an alias named like its column would shadow it in the flags' expression.
--   Over 10M events this grouping of 1.1M tokens costs about half of the one it replaced (18
--   aggregates per token, 4 of them Nullable, and the merged sets of event ids).
--
-- Events without a token (authorization requests, missing_token presentations) share the group
-- of the empty key, which the counts include and no token figure counts (a collision of two keys
-- is negligible at 2^-64 a pair). Two or more canonical resources per token: the least and
-- greatest hash of its resources differ. Audiences: granted at issuance, presented at a resource
-- server.
--
-- No FINAL on the rollup: the token figures are maxima, minima and conditions, which a version of
-- an event stored twice cannot change; the counts can, and the repository takes the counts of the
-- tokens report-token-repeats.sql finds away again. The partial hours' facts are read with FINAL
-- (a small range), so a repeat there is counted once, whatever merges run between the queries.
SELECT
    s.events AS events,
    s.presentations AS presentations,
    s.accepted AS accepted,
    s.accepted_validated AS accepted_validated,
    s.accepted_mismatches AS accepted_mismatches,
    s.token_requests AS token_requests,
    s.token_requests_with_resource AS token_requests_with_resource,
    s.loggable_presentations AS loggable_presentations,
    s.complete_presentations AS complete_presentations,
    s.mcp_presentations AS mcp_presentations,
    p.tokens_with_aud + q.tokens_with_aud AS tokens_with_aud,
    p.multi_audience_tokens + q.multi_audience_tokens AS multi_audience_tokens,
    p.cross_audience_replays + q.cross_audience_replays AS cross_audience_replays,
    p.accepted_tokens_with_exp + q.accepted_tokens_with_exp AS accepted_tokens_with_exp,
    p.expired_tokens_accepted + q.expired_tokens_accepted AS expired_tokens_accepted,
    p.tokens_with_lifetime AS tokens_with_lifetime,
    p.lifetime_quantiles AS lifetime_quantiles
FROM
(
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
          AND toDate(hour) NOT IN {sealed_days:Array(Date)}
        UNION ALL
        SELECT
            events, presentations, accepted, accepted_validated, accepted_mismatches, token_requests,
            token_requests_with_resource, loggable_presentations, complete_presentations, mcp_presentations
        FROM {{db}}.report_sealed_days
        WHERE tenant = {tenant:String}
          AND day IN {sealed_days:Array(Date)}
          AND seal_id = {sealed_ids:Array(UInt64)}[indexOf({sealed_days:Array(Date)}, day)]
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
    )
) AS s
CROSS JOIN
(
    SELECT
        countIf(k != cityHash64('') AND bitTest(f, 0)) AS tokens_with_aud,
        countIf(k != cityHash64('') AND bitTest(f, 1)) AS multi_audience_tokens,
        countIf(k != cityHash64('') AND bitTest(f, 4) AND bitTest(f, 5) AND least_resource != greatest_resource) AS cross_audience_replays,
        countIf(k != cityHash64('') AND bitTest(f, 2) AND bitTest(f, 3)) AS accepted_tokens_with_exp,
        countIf(k != cityHash64('') AND bitTest(f, 2) AND bitTest(f, 3) AND last_accepted - exp > {clock_skew_s:Int64}) AS expired_tokens_accepted,
        countIf(k != cityHash64('') AND bitTest(f, 6)) AS tokens_with_lifetime,
        quantilesExactInclusiveIf(0.5, 0.95)(toFloat64(lifetime), k != cityHash64('') AND bitTest(f, 6)) AS lifetime_quantiles
    FROM
    (
        SELECT
            k,
            groupBitOr(f) AS f,
            min(lo) AS least_resource,
            max(hi) AS greatest_resource,
            max(e) AS exp,
            max(la) AS last_accepted,
            max(lt) AS lifetime
        FROM
        (
            SELECT
                token_hash AS k,
                toUInt8(toUInt8(max_aud > 0) + 2 * toUInt8(max_aud > 1) + 4 * toUInt8(accepted > 0) + 8 * toUInt8(exp IS NOT NULL)
                    + 16 * toUInt8(outside > 0) + 32 * toUInt8(least_resource IS NOT NULL) + 64 * toUInt8(lifetime IS NOT NULL)) AS f,
                ifNull(least_resource, toUInt64(18446744073709551615)) AS lo,
                ifNull(greatest_resource, toUInt64(0)) AS hi,
                ifNull(exp, toInt64(-9223372036854775808)) AS e,
                toInt64(last_accepted) AS la,
                ifNull(lifetime, toInt64(-9223372036854775808)) AS lt
            FROM {{db}}.token_usage_hourly
            WHERE tenant = {tenant:String}
              AND hour >= {full_from:DateTime64(3, 'UTC')}
              AND hour < {full_to:DateTime64(3, 'UTC')}
              AND toDate(hour) NOT IN {sealed_days:Array(Date)}
            UNION ALL
            SELECT token_hash AS k, f, lo, hi, e, la, lt
            FROM {{db}}.report_sealed_tokens
            WHERE tenant = {tenant:String}
              AND day IN {sealed_days:Array(Date)}
              AND seal_id = {sealed_ids:Array(UInt64)}[indexOf({sealed_days:Array(Date)}, day)]
              AND spanning = 1
            UNION ALL
            SELECT
                token_hash AS k,
                toUInt8(toUInt8(aud_count > 0) + 2 * toUInt8(aud_count > 1) + 4 * toUInt8(accepted > 0) + 8 * toUInt8(exp IS NOT NULL)
                    + 16 * toUInt8(outside > 0) + 32 * toUInt8(resource_hash IS NOT NULL) + 64 * toUInt8(lifetime IS NOT NULL)) AS f,
                ifNull(resource_hash, toUInt64(18446744073709551615)) AS lo,
                ifNull(resource_hash, toUInt64(0)) AS hi,
                ifNull(exp, toInt64(-9223372036854775808)) AS e,
                accepted_at AS la,
                ifNull(lifetime, toInt64(-9223372036854775808)) AS lt
            FROM {{db}}.report_event_facts FINAL
            WHERE tenant = {tenant:String}
              AND occurred_at >= {since:DateTime64(3, 'UTC')}
              AND occurred_at < {until:DateTime64(3, 'UTC')}
              AND (occurred_at < {full_from:DateTime64(3, 'UTC')} OR occurred_at >= {full_to:DateTime64(3, 'UTC')})
        )
        GROUP BY k
        UNION ALL
        -- the lifetimes of the sealed days' tokens that do not span days, one row per token
        SELECT
            toUInt64(1) AS k,
            toUInt8(64) AS f,
            toUInt64(0) AS least_resource,
            toUInt64(0) AS greatest_resource,
            toInt64(0) AS exp,
            toInt64(0) AS last_accepted,
            lifetime
        FROM {{db}}.report_sealed_days
        ARRAY JOIN arrayFlatten(arrayMap((v, c) -> arrayResize([v], c, v), lifetime_values, lifetime_tokens)) AS lifetime
        WHERE tenant = {tenant:String}
          AND day IN {sealed_days:Array(Date)}
          AND seal_id = {sealed_ids:Array(UInt64)}[indexOf({sealed_days:Array(Date)}, day)]
    )
) AS p
CROSS JOIN
(
    SELECT
        sum(tokens_with_aud) AS tokens_with_aud,
        sum(multi_audience_tokens) AS multi_audience_tokens,
        sum(cross_audience_replays) AS cross_audience_replays,
        sum(accepted_tokens_with_exp) AS accepted_tokens_with_exp,
        sum(expired_tokens_accepted) AS expired_tokens_accepted
    FROM {{db}}.report_sealed_days
    WHERE tenant = {tenant:String}
      AND day IN {sealed_days:Array(Date)}
      AND seal_id = {sealed_ids:Array(UInt64)}[indexOf({sealed_days:Array(Date)}, day)]
) AS q
