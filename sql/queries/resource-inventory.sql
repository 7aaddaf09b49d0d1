-- The resource inventory of one tenant: per drift key, its canonical forms and raw spellings with
-- roles and counts, and accept/reject counts of presentations at the resource. One page in
-- drift-key order after {after} (keyset cursor); the caller asks for one row more than it shows,
-- to know whether another page follows.
--
-- The rollup keeps a row per decision; the inner query sums a (raw spelling, role) pair over them,
-- so that each pair is listed once with all its events (it was listed once per decision, with the
-- decision not shown), and keeps the accepted and rejected presentations as sums of their own.
SELECT
    resource_drift_key AS drift_key,
    groupUniqArray(canonical_form) AS canonical,
    arraySort(groupArray((resource_raw, role, pair_events))) AS variants,
    sum(accepted) AS accepted,
    sum(rejected) AS rejected,
    min(first_seen) AS first_seen,
    max(last_seen) AS last_seen,
    toBool(uniqExact(resource_raw) > 1) AS drift
FROM
(
    SELECT resource_drift_key, any(resource_canonical) AS canonical_form, resource_raw, role,
           sum(events) AS pair_events,
           sumIf(events, role = 'resource_server' AND decision = 'accepted') AS accepted,
           sumIf(events, role = 'resource_server' AND decision = 'rejected') AS rejected,
           min(first_seen) AS first_seen, max(last_seen) AS last_seen
    FROM {{db}}.resource_usage_daily
    WHERE tenant = {tenant:String}
      AND resource_drift_key > {after:String}
      AND day >= toDate({since:DateTime64(3, 'UTC')})
    GROUP BY resource_drift_key, resource_raw, role
)
GROUP BY resource_drift_key
ORDER BY resource_drift_key
LIMIT {limit:UInt32}
