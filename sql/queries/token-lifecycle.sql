-- A token's events other than presentations in one tenant (its issuance, the exchanges that
-- issued it) and the exchanges that took it as subject token, oldest first; at most {limit} (the
-- caller asks for one more, to say when the limit cut the list). One row per event by
-- LIMIT 1 BY, as token-events.sql.
-- The token's events are found through token_locations (migration 0017): the (client_id, hour,
-- token_key) prefixes of the events that name the key, so that the primary key of `events` selects
-- their granules (instead of the token_key Bloom filter of every granule).
SELECT {{stored_event_columns}}
FROM {{db}}.events
WHERE tenant = {tenant:String}
  AND (client_id, toStartOfHour(occurred_at), token_key) IN (
      SELECT client_id, hour, event_token_key FROM {{db}}.token_locations
      WHERE tenant = {tenant:String} AND token_key = {key:String})
  AND ((token_key = {key:String} AND event_type != 'token.presented') OR subject_token_key = {key:String})
ORDER BY occurred_at, event_id
LIMIT 1 BY event_id
LIMIT {limit:UInt32}
SETTINGS max_threads = 1
