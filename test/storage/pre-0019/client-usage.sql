-- client-usage.sql as it was before migration 0019 (reading 0017's client_activity_daily_fine), kept
-- for test/storage/client-blocks.test.ts: the same answers before and after.
-- Per-client usage of one tenant since {since} (whole UTC days, from the client_activity_daily
-- rollup as client_activity_daily_fine holds it, in granules of 256 rows: migration 0017):
-- resources, events, distinct tokens (estimated), rejected presentations. One page in client_id
-- order after {after} (keyset cursor); the caller asks for one row more than it shows,
-- to know whether another page follows.
--
-- The rollup is sorted by (tenant, client_id, day), so with optimize_aggregation_in_order the
-- grouping reads clients in order and stops after the page instead of grouping every client.
SELECT
    client_id,
    arraySort(groupUniqArrayArray(resources)) AS resources,
    sum(events) AS events,
    uniqMerge(tokens) AS tokens,
    sum(rejected) AS rejected,
    min(first_seen) AS first_seen,
    max(last_seen) AS last_seen
FROM {{db}}.client_activity_daily_fine
WHERE tenant = {tenant:String}
  AND client_id > {after:String}
  AND day >= toDate({since:DateTime64(3, 'UTC')})
GROUP BY client_id
ORDER BY client_id
LIMIT {limit:UInt32}
SETTINGS optimize_aggregation_in_order = 1
