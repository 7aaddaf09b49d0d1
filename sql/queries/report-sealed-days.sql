-- The sealed days a report may use (migration 0020): of the whole UTC days [day_from, day_to) of
-- its period, those whose latest seal still matches the rollup (the day's events in
-- token_usage_hourly sum to the sealed figure: no event stored for the day since, none removed)
-- and was sealed with the report's clock skew. A day sealed but changed since, or never sealed,
-- is read from the rollup (report-token-metrics.sql): correct, just not precomputed.
SELECT toString(s.d) AS day, toString(s.latest) AS seal_id
FROM
(
    SELECT day AS d, max(seal_id) AS latest, argMax(events, seal_id) AS sealed_events, argMax(clock_skew_s, seal_id) AS skew
    FROM {{db}}.report_sealed_days
    WHERE tenant = {tenant:String}
      AND day >= {day_from:Date}
      AND day < {day_to:Date}
    GROUP BY d
) AS s
INNER JOIN
(
    SELECT toDate(hour) AS d, sum(toUInt64(events)) AS stored_events
    FROM {{db}}.token_usage_hourly
    WHERE tenant = {tenant:String}
      AND hour >= toDateTime({day_from:Date}, 'UTC')
      AND hour < toDateTime({day_to:Date}, 'UTC')
    GROUP BY d
) AS r ON s.d = r.d
WHERE s.sealed_events = r.stored_events AND s.skew = {clock_skew_s:Int64}
ORDER BY s.d
