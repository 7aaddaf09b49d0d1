-- Seal one day of a tenant, second step (src/reports/seal.ts): the day's row of seal {seal_id}
-- from the token rows report-seal-tokens.sql wrote: the day's counts, the per-token conditions
-- counted over the tokens that do not span days (with the clock skew {clock_skew_s}), and their
-- lifetimes as a histogram (value, tokens), and its tokens holding an event stored twice.
INSERT INTO {{db}}.report_sealed_days
SELECT
    tenant, day, seal_id, {clock_skew_s:Int64} AS clock_skew_s,
    sum(events), sum(presentations), sum(accepted), sum(accepted_validated), sum(accepted_mismatches), sum(token_requests),
    sum(token_requests_with_resource), sum(loggable_presentations), sum(complete_presentations), sum(mcp_presentations),
    countIf(spanning = 0 AND bitTest(f, 0)),
    countIf(spanning = 0 AND bitTest(f, 1)),
    countIf(spanning = 0 AND bitTest(f, 4) AND bitTest(f, 5) AND lo != hi),
    countIf(spanning = 0 AND bitTest(f, 2) AND bitTest(f, 3)),
    countIf(spanning = 0 AND bitTest(f, 2) AND bitTest(f, 3) AND la - e > {clock_skew_s:Int64}),
    sumMapIf([lt], [toUInt64(1)], spanning = 0 AND bitTest(f, 6)).1,
    sumMapIf([lt], [toUInt64(1)], spanning = 0 AND bitTest(f, 6)).2,
    -- the day's tokens holding an event stored twice (report-token-repeats.sql's test), read
    -- after the tokens: a repeat stored since makes the day's fingerprint stale anyway
    (
        SELECT groupUniqArray(token_hash)
        FROM {{db}}.token_usage_hourly FINAL
        WHERE tenant = {tenant:String}
          AND hour >= toDateTime({day:Date}, 'UTC')
          AND hour < toDateTime({day:Date} + 1, 'UTC')
          AND events != finalizeAggregation(event_ids)
    )
FROM {{db}}.report_sealed_tokens
WHERE tenant = {tenant:String}
  AND day = {day:Date}
  AND seal_id = {seal_id:UInt64}
GROUP BY tenant, day, seal_id
