-- Which of these event ids are already stored (redelivery after a crash, a producer retry)?
-- The output column is `id`: an alias named `event_id` would shadow the column in WHERE, which
-- then compared the ids' String form with the UUIDs and found nothing, ever.
-- The occurred_at bounds let partition pruning and the minmax index skip most of the table.
SELECT DISTINCT tenant, toString(event_id) AS id
FROM {{db}}.events
WHERE event_id IN {ids:Array(UUID)}
  AND occurred_at BETWEEN {from:DateTime64(3, 'UTC')} AND {to:DateTime64(3, 'UTC')}
