-- A token's events other than presentations in one tenant (its issuance, the exchanges that
-- issued it) and the exchanges that took it as subject token, oldest first; at most {limit} (the
-- caller asks for one more, to say when the limit cut the list). One row per event by
-- LIMIT 1 BY, as token-events.sql.
-- The token's events are read from token_timeline (migration 0018): the events that name the key,
-- filed under it and sorted by it in granules of 256 rows, each as one JSON column (`event`, the
-- columns the API shows; src/storage/token-timeline.ts parses it), so a point read of a granule.
SELECT event, occurred_at, received_at
FROM {{db}}.token_timeline
WHERE tenant = {tenant:String}
  AND timeline_key = {key:String}
  AND ((token_key = {key:String} AND event_type != 'token.presented') OR subject_token_key = {key:String})
ORDER BY occurred_at, event_id
LIMIT 1 BY event_id
LIMIT {limit:UInt32}
SETTINGS max_threads = 1
