-- Which of these event ids are already stored (redelivery after a crash, a producer retry)?
-- The occurred_at bounds let partition pruning and the minmax index skip most of the table.
SELECT DISTINCT tenant, toString(event_id) AS event_id
FROM {{db}}.events
WHERE event_id IN {ids:Array(UUID)}
  AND occurred_at BETWEEN {from:DateTime64(3, 'UTC')} AND {to:DateTime64(3, 'UTC')}
