-- Sealed days for the compliance report (docs/design/report-performance.md, "Sealed days"): the
-- per-token figures of report-token-metrics.sql computed once per tenant and UTC day by a
-- scheduled job (src/reports/seal.ts), so that a 30-day report groups only the tokens that span
-- days, the days not sealed (or changed since) and the partial hours at its ends, instead of
-- every token of the period (3.4M at 30M events).
--
-- report_sealed_tokens: per tenant, day, seal and token (64-bit hash, as token_usage_hourly),
-- the token's figures over that day's rollup rows (the bit set and five plain aggregates of
-- report-token-metrics.sql) and its counts, and whether it spans days: it had rollup rows in
-- another day when the day was sealed (the empty key always spans).
--
-- report_sealed_days: per tenant, day and seal, what the report adds for the day instead of
-- grouping it: the day's counts (sums of the sealed token rows, which are the day's rollup rows
-- grouped), the counts of each per-token condition over the tokens that do not span days, and
-- their lifetimes as a histogram (value, tokens) for the exact quantiles. `events` is the
-- day's fingerprint: a report uses a seal only while the rollup's events of that day still sum
-- to it (a late, redelivered or repeated event for the day changes the sum; the day is then read
-- from the rollup until the job seals it again), and only with the clock skew it was sealed
-- with. A token that did not span days when its day was sealed but has rows elsewhere later (a
-- late event of another day) is caught by the report (report-sealed-conflicts.sql): that day is
-- read from the rollup too, and the job seals it again.
--
-- ReplacingMergeTree: every row's sort key is unique (a seal's token, a seal's day), so a seal
-- inserted twice (a retried insert) collapses to one on a merge, and reports read the day's row
-- through argMax and the token rows of one seal; nothing else is ever replaced.
--
-- The latest seal of a day wins (largest seal_id, the sealing time in ms); superseded seals stay
-- until the job removes them. The backfill below seals every day before yesterday (UTC) of every
-- tenant as seal 1, tokens first and the days from them, so each day's fingerprint is the sum of
-- exactly the rows its tokens were sealed from.
CREATE TABLE IF NOT EXISTS {{db}}.report_sealed_tokens {{on_cluster}}
(
    tenant LowCardinality(String),
    day Date,
    seal_id UInt64,
    spanning UInt8,
    token_hash UInt64,
    f UInt8,
    lo UInt64,
    hi UInt64,
    e Int64,
    la Int64,
    lt Int64,
    events UInt64,
    presentations UInt64,
    accepted UInt64,
    accepted_validated UInt64,
    accepted_mismatches UInt64,
    token_requests UInt64,
    token_requests_with_resource UInt64,
    loggable_presentations UInt64,
    complete_presentations UInt64,
    mcp_presentations UInt64
)
ENGINE = {{replicated}}ReplacingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant, day, seal_id, spanning, token_hash)
TTL {{ttl.report_sealed_tokens}}
SETTINGS index_granularity = 8192{{dedup_window}};

CREATE TABLE IF NOT EXISTS {{db}}.report_sealed_days {{on_cluster}}
(
    tenant LowCardinality(String),
    day Date,
    seal_id UInt64,
    clock_skew_s Int64,
    events UInt64,
    presentations UInt64,
    accepted UInt64,
    accepted_validated UInt64,
    accepted_mismatches UInt64,
    token_requests UInt64,
    token_requests_with_resource UInt64,
    loggable_presentations UInt64,
    complete_presentations UInt64,
    mcp_presentations UInt64,
    tokens_with_aud UInt64,
    multi_audience_tokens UInt64,
    cross_audience_replays UInt64,
    accepted_tokens_with_exp UInt64,
    expired_tokens_accepted UInt64,
    lifetime_values Array(Int64),
    lifetime_tokens Array(UInt64),
    repeated_tokens Array(UInt64)
)
ENGINE = {{replicated}}ReplacingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant, day, seal_id)
TTL {{ttl.report_sealed_days}}
SETTINGS index_granularity = 8192{{dedup_window}};

-- Emptied first, so that a migration that failed part way and runs again seals each day once.
TRUNCATE TABLE IF EXISTS {{db}}.report_sealed_tokens {{on_cluster}};
TRUNCATE TABLE IF EXISTS {{db}}.report_sealed_days {{on_cluster}};

INSERT INTO {{db}}.report_sealed_tokens
SELECT tenant, day, toUInt64(1) AS seal_id, toUInt8(k = cityHash64('') OR days > 1) AS spanning, k AS token_hash,
    f, lo, hi, e, la, lt, s_events, s_presentations, s_accepted, s_accepted_validated, s_accepted_mismatches,
    s_token_requests, s_token_requests_with_resource, s_loggable_presentations, s_complete_presentations, s_mcp_presentations
FROM
(
    SELECT *, count() OVER (PARTITION BY tenant, k) AS days
    FROM
    (
        SELECT
            tenant,
            toDate(hour) AS day,
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
        GROUP BY tenant, day, k
    )
)
WHERE day < yesterday();

-- The days from their sealed tokens (a day without a repeat joins nothing: an empty array); the clock skew is the expired-token-accepted rule's default
-- (60 s, src/detection/rules/expired-token-accepted.ts): a report with another skew reads the
-- days from the rollup, and the job seals them with its own.
INSERT INTO {{db}}.report_sealed_days
SELECT d.*, r.repeated AS repeated_tokens
FROM
(
    SELECT
        tenant, day, seal_id, toInt64(60) AS clock_skew_s,
        sum(events), sum(presentations), sum(accepted), sum(accepted_validated), sum(accepted_mismatches), sum(token_requests),
        sum(token_requests_with_resource), sum(loggable_presentations), sum(complete_presentations), sum(mcp_presentations),
        countIf(spanning = 0 AND bitTest(f, 0)),
        countIf(spanning = 0 AND bitTest(f, 1)),
        countIf(spanning = 0 AND bitTest(f, 4) AND bitTest(f, 5) AND lo != hi),
        countIf(spanning = 0 AND bitTest(f, 2) AND bitTest(f, 3)),
        countIf(spanning = 0 AND bitTest(f, 2) AND bitTest(f, 3) AND la - e > 60),
        sumMapIf([lt], [toUInt64(1)], spanning = 0 AND bitTest(f, 6)).1,
        sumMapIf([lt], [toUInt64(1)], spanning = 0 AND bitTest(f, 6)).2
    FROM {{db}}.report_sealed_tokens
    WHERE seal_id = 1
    GROUP BY tenant, day, seal_id
) AS d
LEFT JOIN
(
    -- the day's tokens holding an event stored twice (report-token-repeats.sql's test), read
    -- after the tokens: a repeat stored since makes the day's fingerprint stale anyway
    SELECT tenant, toDate(hour) AS day, groupUniqArray(token_hash) AS repeated
    FROM {{db}}.token_usage_hourly FINAL
    WHERE hour < toDateTime(yesterday(), 'UTC') AND events != finalizeAggregation(event_ids)
    GROUP BY tenant, day
) AS r ON d.tenant = r.tenant AND d.day = r.day;
