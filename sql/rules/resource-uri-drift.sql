-- resource-uri-drift: every drift key used in the window whose resource has two or more raw
-- spellings over the lookback, in any role (requested, granted aud, presented aud, the RS's own
-- configuration). The window finds the keys; the daily rollup supplies the spellings with counts
-- (as of the run: the counts may include events received after the window).
WITH window_keys AS
(
    SELECT
        tenant,
        tupleElement(r, 2) AS drift_key,
        groupUniqArray(10)(event_id) AS event_ids,
        max(occurred_at) AS last_occurred
    FROM
    (
        SELECT
            tenant,
            event_id,
            occurred_at,
            arrayJoin(arrayConcat(
                arrayZip(requested_resources, requested_resources_drift),
                arrayZip(granted_aud, granted_aud_drift),
                arrayZip(presented_aud, presented_aud_drift),
                if(resource = '', [], [(resource, resource_drift_key)])
            )) AS r
        FROM {{db}}.events FINAL
        WHERE received_at >= {from:DateTime64(3, 'UTC')}
          AND received_at < {to:DateTime64(3, 'UTC')}
    )
    WHERE drift_key != ''
    GROUP BY tenant, drift_key
),
spellings AS
(
    SELECT
        tenant,
        resource_drift_key AS drift_key,
        resource_raw AS raw,
        any(resource_canonical) AS canonical,
        sum(events) AS events,
        arraySort(groupUniqArray(role)) AS roles,
        min(first_seen) AS first_seen,
        max(last_seen) AS last_seen
    FROM {{db}}.resource_usage_daily
    WHERE day >= toDate({from:DateTime64(3, 'UTC')} - toIntervalSecond({lookback_s:UInt32}))
      AND (tenant, resource_drift_key) IN (SELECT tenant, drift_key FROM window_keys)
    GROUP BY tenant, drift_key, raw
    -- Spellings that first occurred after the window are left to the run that receives them.
    HAVING first_seen < {to:DateTime64(3, 'UTC')}
)
SELECT
    s.tenant AS tenant,
    s.drift_key AS drift_key,
    arraySort(v -> -v.3, groupArray((s.raw, s.canonical, s.events, s.roles, s.first_seen, s.last_seen))) AS variants,
    uniqExact(s.canonical) AS canonical_forms,
    any(w.event_ids) AS event_ids,
    any(w.last_occurred) AS last_occurred
FROM spellings AS s
INNER JOIN window_keys AS w ON w.tenant = s.tenant AND w.drift_key = s.drift_key
GROUP BY s.tenant, s.drift_key
HAVING count() >= {min_spellings:UInt32}
ORDER BY tenant, drift_key
LIMIT {max_results:UInt32}
