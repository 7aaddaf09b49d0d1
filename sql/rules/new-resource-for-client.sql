-- new-resource-for-client: a client presents tokens at a canonical resource for the first time
-- within the lookback (the window holds the pair's earliest presentation), after a baseline: its
-- first event lies at least {baseline_s} before, with {min_baseline_events} events on earlier
-- days. The window gives the pairs; the per-client daily rollup gives the history.
WITH window_pairs AS
(
    SELECT
        tenant,
        client_id,
        resource_canonical AS resource,
        any(resource) AS resource_raw,
        min(occurred_at) AS first_used,
        max(occurred_at) AS last_used,
        count() AS uses,
        groupUniqArray(decision) AS decisions,
        arraySlice(arrayMap(e -> e.2, arraySort(groupArray((occurred_at, event_id)))), 1, 10) AS event_ids
    FROM {{db}}.events FINAL
    WHERE received_at >= {from:DateTime64(3, 'UTC')}
      AND received_at < {to:DateTime64(3, 'UTC')}
      AND event_type = 'token.presented'
      AND client_id != ''
      AND resource_canonical != ''
    GROUP BY tenant, client_id, resource
),
history AS
(
    SELECT
        tenant,
        client_id,
        resource_canonical AS resource,
        event_type,
        day,
        sum(events) AS events,
        min(first_seen) AS first_seen
    FROM {{db}}.client_usage_daily
    WHERE day >= toDate({from:DateTime64(3, 'UTC')} - toIntervalSecond({lookback_s:UInt32}))
      AND (tenant, client_id) IN (SELECT tenant, client_id FROM window_pairs)
    GROUP BY tenant, client_id, resource, event_type, day
),
clients AS
(
    SELECT
        tenant,
        client_id,
        min(first_seen) AS client_first,
        groupArray((day, events)) AS days,
        groupUniqArrayIf(resource, event_type = 'token.presented' AND resource != '') AS used
    FROM history
    GROUP BY tenant, client_id
),
pairs AS
(
    SELECT tenant, client_id, resource, min(first_seen) AS pair_first
    FROM history
    WHERE event_type = 'token.presented'
    GROUP BY tenant, client_id, resource
)
SELECT
    w.tenant AS tenant,
    w.client_id AS client_id,
    w.resource AS resource,
    w.resource_raw AS resource_raw,
    w.first_used AS first_used,
    w.last_used AS last_used,
    w.uses AS uses,
    w.decisions AS decisions,
    w.event_ids AS event_ids,
    c.client_first AS client_first,
    arraySum(arrayMap(d -> if(d.1 < toDate(w.first_used), d.2, 0), c.days)) AS baseline_events,
    arraySlice(arraySort(arrayFilter(r -> r != w.resource, c.used)), 1, 20) AS other_resources
FROM window_pairs AS w
INNER JOIN clients AS c ON c.tenant = w.tenant AND c.client_id = w.client_id
INNER JOIN pairs AS p ON p.tenant = w.tenant AND p.client_id = w.client_id AND p.resource = w.resource
WHERE p.pair_first >= w.first_used
  AND w.first_used >= c.client_first + toIntervalSecond({baseline_s:UInt32})
  AND baseline_events >= {min_baseline_events:UInt32}
ORDER BY tenant, client_id, resource
LIMIT {max_results:UInt32}
