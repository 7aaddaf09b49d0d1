-- A token's presentations in one tenant summarised per resource (canonical, else as presented)
-- and decision: distinct events, first and last. Every presentation is counted, however many
-- pages the timeline shows. Sorted by resource and decision; at most {limit} groups (the caller
-- asks for one more to know whether the limit cut the summary).
-- The token's events are read from token_timeline (migration 0018): the events that name the key,
-- filed under it and sorted by it in granules of 256 rows, so a point read of a granule or two.
SELECT
    if(resource_canonical != '', resource_canonical, resource) AS resource,
    decision,
    uniqExact(event_id) AS count,
    min(occurred_at) AS first_seen,
    max(occurred_at) AS last_seen
FROM {{db}}.token_timeline
WHERE tenant = {tenant:String}
  AND timeline_key = {key:String}
  AND token_key = {key:String}
  AND event_type = 'token.presented'
GROUP BY resource, decision
ORDER BY resource, decision
LIMIT {limit:UInt32}
SETTINGS max_threads = 1
