-- A token's presentations in one tenant summarised per resource (canonical, else as presented)
-- and decision: distinct events, first and last. Every presentation is counted, however many
-- pages the timeline shows. Sorted by resource and decision; at most {limit} groups (the caller
-- asks for one more to know whether the limit cut the summary).
-- The token's events are found through token_locations (migration 0017): the (client_id, hour,
-- token_key) prefixes of the events that name the key, so that the primary key of `events` selects
-- their granules (instead of the token_key Bloom filter of every granule).
SELECT
    if(resource_canonical != '', resource_canonical, resource) AS resource,
    decision,
    uniqExact(event_id) AS count,
    min(occurred_at) AS first_seen,
    max(occurred_at) AS last_seen
FROM {{db}}.events
WHERE tenant = {tenant:String}
  AND (client_id, toStartOfHour(occurred_at), token_key) IN (
      SELECT client_id, hour, event_token_key FROM {{db}}.token_locations
      WHERE tenant = {tenant:String} AND token_key = {key:String})
  AND token_key = {key:String}
  AND event_type = 'token.presented'
GROUP BY resource, decision
ORDER BY resource, decision
LIMIT {limit:UInt32}
SETTINGS max_threads = 1
