-- Which of these event ids are already stored (redelivery after a crash, a producer retry, or a
-- producer that sends another event under an id already used)? An id names one event whatever
-- its time, so the lookup is not bounded by occurred_at: the tenant (the sorting key's prefix)
-- and the bloom_filter index on event_id (idx_event_id) skip what they can.
-- The output column is `id`: an alias named `event_id` would shadow the column in WHERE, which
-- then compared the ids' String form with the UUIDs and found nothing, ever.
SELECT DISTINCT tenant, toString(event_id) AS id
FROM {{db}}.events
WHERE tenant IN {tenants:Array(String)}
  AND event_id IN {ids:Array(UUID)}
