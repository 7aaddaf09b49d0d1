-- One page of a token's presentations in one tenant, oldest first, keyset-paginated on
-- (occurred_at, event_id as text) after {cursor_at}/{cursor_id}. One row per event by LIMIT 1 BY
-- (as token-events.sql: versions of an event hold the same values and sort next to each other);
-- the caller asks for one row more than the page, to know whether another page follows.
-- The token's events are read from token_timeline (migration 0018): the events that name the key,
-- filed under it and sorted by it in granules of 256 rows, each as one JSON column (`event`, the
-- columns the API shows; src/storage/token-timeline.ts parses it), so a point read of a granule.
SELECT event, occurred_at, received_at
FROM {{db}}.token_timeline
WHERE tenant = {tenant:String}
  AND timeline_key = {key:String}
  AND token_key = {key:String}
  AND event_type = 'token.presented'
  AND ({cursor_id:String} = '' OR (occurred_at, toString(event_id)) > ({cursor_at:DateTime64(3, 'UTC')}, {cursor_id:String}))
ORDER BY occurred_at, toString(event_id)
LIMIT 1 BY event_id
LIMIT {fetch:UInt32}
SETTINGS max_threads = 1
