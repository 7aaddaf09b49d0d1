-- The tokens of one tenant over [since, until) of occurred_at that hold an event stored twice
-- (a redelivery the insert dedup did not catch, a backfill that overlapped a view): a token whose
-- events outnumber its distinct event ids (compared by 64-bit hash: a collision could only cost
-- an extra read). report-token-metrics.sql's counts include them; the repository takes their
-- counts away (report-token-counts.sql) and the report counts their events again from `events`,
-- each once (report-event-metrics.sql), or, beyond {max_repeated} such tokens, the whole period.
--
-- The sealed days {sealed_days} (seals {sealed_ids}; report-token-metrics.sql) give the repeats
-- they held when sealed: their rows unchanged since, the same as reading them again.
--
-- Per hour and token: token_usage_hourly with FINAL merges the rows of one hour and token (the
-- versions of an event stored by different inserts sit in different parts until a merge), and
-- each merged row compares its events with its distinct ids. The partial hours at the ends need
-- no check: report-token-metrics.sql and report-token-counts.sql read report_event_facts (a
-- ReplacingMergeTree keyed by time, token and event) with FINAL, so a repeat there is counted
-- once whatever the background merges did between the queries (reading it without FINAL here
-- and there raced with them: a merge between the two reads hid a repeat the counts had kept).
-- Cheap: the rows are mostly merged already, and no hash table of every token is built. Not seen: two versions of one event stored with times in
-- different hours (or one in a whole hour, one in a partial hour): they are separate rows of
-- `events` too, which FINAL does not collapse either; the report then counts both.
SELECT
    count() AS tokens_with_repeats,
    arraySlice(groupArray(toString(k)), 1, {max_repeated:UInt32}) AS repeated_tokens
FROM
(
    SELECT DISTINCT k
    FROM
    (
        SELECT token_hash AS k
        FROM {{db}}.token_usage_hourly FINAL
        WHERE tenant = {tenant:String}
          AND hour >= {full_from:DateTime64(3, 'UTC')}
          AND hour < {full_to:DateTime64(3, 'UTC')}
          AND toDate(hour) NOT IN {sealed_days:Array(Date)}
          AND events != finalizeAggregation(event_ids)
        UNION ALL
        -- the sealed days' (migration 0020): found when sealed, the day unchanged since
        SELECT arrayJoin(repeated_tokens) AS k
        FROM {{db}}.report_sealed_days
        WHERE tenant = {tenant:String}
          AND day IN {sealed_days:Array(Date)}
          AND seal_id = {sealed_ids:Array(UInt64)}[indexOf({sealed_days:Array(Date)}, day)]
    )
)
