-- One event by id within a tenant; FINAL collapses redelivered copies.
SELECT *
FROM {{db}}.events FINAL
WHERE tenant = {tenant:String} AND event_id = {event_id:UUID}
LIMIT 1
