-- The ids stored for occurred_at from {since} on: what the embedded engine's in-memory filter of
-- stored ids starts from (src/pipeline/stored-ids.ts). One row more than the caller can hold
-- tells it to give those hours up.
SELECT tenant, toString(event_id) AS id, occurred_at
FROM {{db}}.events
WHERE occurred_at >= {since:DateTime64(3, 'UTC')}
LIMIT {limit:UInt32}
