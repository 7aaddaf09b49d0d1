-- One page of a token's presentations in one tenant, oldest first, keyset-paginated on
-- (occurred_at, event_id as text) after {cursor_at}/{cursor_id}. One row per event by LIMIT 1 BY
-- (as token-events.sql: versions of an event hold the same values and sort next to each other);
-- the caller asks for one row more than the page, to know whether another page follows.
-- The token's events are found through token_locations (migration 0017): the (client_id, hour,
-- token_key) prefixes of the events that name the key, so that the primary key of `events` selects
-- their granules (instead of the token_key Bloom filter of every granule).
SELECT {{stored_event_columns}}
FROM {{db}}.events
WHERE tenant = {tenant:String}
  AND (client_id, toStartOfHour(occurred_at), token_key) IN (
      SELECT client_id, hour, event_token_key FROM {{db}}.token_locations
      WHERE tenant = {tenant:String} AND token_key = {key:String})
  AND token_key = {key:String}
  AND event_type = 'token.presented'
  AND ({cursor_id:String} = '' OR (occurred_at, toString(event_id)) > ({cursor_at:DateTime64(3, 'UTC')}, {cursor_id:String}))
ORDER BY occurred_at, toString(event_id)
LIMIT 1 BY event_id
LIMIT {fetch:UInt32}
SETTINGS max_threads = 1
