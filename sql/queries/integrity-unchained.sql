-- Some of a tenant's unchained rows (chain_id ''), to name them in a report.
SELECT toString(event_id) AS id, received_at
FROM {{db}}.events
WHERE tenant = {tenant:String}
  AND chain_id = ''
ORDER BY received_at, event_id
LIMIT {limit:UInt32}
