-- Evidence metrics of one tenant over [since, until) of occurred_at: the drifted resources, drift
-- keys seen under two or more raw spellings (requested, granted or presented aud, RS
-- configuration), from the resource_usage_daily rollup alone: a (key, spelling) pair of a day
-- inside the period was seen in it; on the period's first day, when its last_seen >= since; on
-- its last day, when its first_seen < until. Both hold exactly for any rollup row, merged or not.
-- Only a period inside one day that starts after midnight needs the events themselves (first
-- and last seen cannot tell whether the pair was seen in between); the events branch reads
-- nothing otherwise. Reading the partial end days from events instead cost 0.65 s of a 30-day
-- report over 10M events (granules span all hours of their clients, so time prunes little).
-- Existence only: a duplicated row changes nothing, so this part needs no FINAL.
SELECT
    arraySort(groupArray(k)) AS drifted_keys,
    arraySort(arrayFlatten(groupArray(arrayMap(r -> (k, r), spellings)))) AS drifted_spellings
FROM
(
    SELECT k, groupUniqArray(raw) AS spellings
    FROM
    (
        SELECT resource_drift_key AS k, resource_raw AS raw
        FROM {{db}}.resource_usage_daily
        WHERE tenant = {tenant:String}
          AND day >= toDate({since:DateTime64(3, 'UTC')})
          AND day <= toDate({until:DateTime64(3, 'UTC')})
          AND last_seen >= {since:DateTime64(3, 'UTC')}
          AND first_seen < {until:DateTime64(3, 'UTC')}
          AND NOT (toDate({since:DateTime64(3, 'UTC')}) = toDate({until:DateTime64(3, 'UTC')})
                   AND toStartOfDay({since:DateTime64(3, 'UTC')}) != {since:DateTime64(3, 'UTC')})
        GROUP BY k, raw
        UNION ALL
        SELECT k, raw
        FROM {{db}}.events
        ARRAY JOIN
            arrayConcat(requested_resources_drift, granted_aud_drift, presented_aud_drift, [resource_drift_key]) AS k,
            arrayConcat(requested_resources, granted_aud, presented_aud, [resource]) AS raw
        WHERE toDate({since:DateTime64(3, 'UTC')}) = toDate({until:DateTime64(3, 'UTC')})
          AND toStartOfDay({since:DateTime64(3, 'UTC')}) != {since:DateTime64(3, 'UTC')}
          AND tenant = {tenant:String}
          AND occurred_at >= {since:DateTime64(3, 'UTC')}
          AND occurred_at < {until:DateTime64(3, 'UTC')}
        GROUP BY k, raw
    )
    WHERE k != ''
    GROUP BY k
    HAVING length(spellings) > 1
)
