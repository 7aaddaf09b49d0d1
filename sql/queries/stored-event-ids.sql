-- One page of the stored (tenant, event_id) pairs, whatever their time: what the embedded
-- engine's in-memory filter of stored ids starts from (src/pipeline/stored-ids.ts). The pages
-- split the ids by hash, so that no page holds more than about the caller's page size.
SELECT tenant, toString(event_id) AS id
FROM {{db}}.events
WHERE cityHash64(event_id) % {parts:UInt32} = {part:UInt32}
