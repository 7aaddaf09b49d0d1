-- The days [day_from, day_to) of a tenant the sealing job (src/reports/seal.ts) must seal: days
-- with rollup rows whose latest seal is missing, no longer matches the rollup (an event stored
-- for the day since: a late or repeated event) or was sealed with another clock skew.
SELECT toString(r.d) AS day
FROM
(
    SELECT toDate(hour) AS d, sum(toUInt64(events)) AS stored_events
    FROM {{db}}.token_usage_hourly
    WHERE tenant = {tenant:String}
      AND hour >= toDateTime({day_from:Date}, 'UTC')
      AND hour < toDateTime({day_to:Date}, 'UTC')
    GROUP BY d
) AS r
LEFT JOIN
(
    SELECT day AS d, argMax(events, seal_id) AS sealed_events, argMax(clock_skew_s, seal_id) AS skew, toUInt8(1) AS sealed
    FROM {{db}}.report_sealed_days
    WHERE tenant = {tenant:String}
      AND day >= {day_from:Date}
      AND day < {day_to:Date}
    GROUP BY d
) AS s ON r.d = s.d
WHERE s.sealed = 0 OR s.sealed_events != r.stored_events OR s.skew != {clock_skew_s:Int64}
ORDER BY r.d
