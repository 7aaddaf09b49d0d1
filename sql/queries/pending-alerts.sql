-- Alerts due for delivery: not delivered, next attempt due, oldest first.
SELECT tenant, alert_id, channel, finding_id, payload, created_at, attempts
FROM {{db}}.alert_outbox FINAL
WHERE NOT delivered AND next_attempt_at <= now64(3)
ORDER BY created_at
LIMIT {limit:UInt32}
