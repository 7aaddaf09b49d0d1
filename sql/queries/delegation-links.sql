-- The RFC 8693 exchanges that link the given token keys of one tenant to others: those that issued
-- one of them (token_key in {keys}: the link to its subject token) and those that took one of them
-- as subject (subject_token_key in {keys}: the links to the tokens exchanged from it). One row per
-- event by LIMIT 1 BY (see token-events.sql); the caller walks the chain a level per query.
-- The token's events are found through token_locations (migration 0017): the (client_id, hour,
-- token_key) prefixes of the events that name the key, so that the primary key of `events` selects
-- their granules (instead of the token_key Bloom filter of every granule).
SELECT
    event_id,
    occurred_at,
    token_key,
    subject_token_key,
    client_id,
    actor_subject,
    actor_client_id,
    granted_aud,
    token_scopes,
    attributes['act_depth'] AS act_depth
FROM {{db}}.events
WHERE tenant = {tenant:String}
  AND (client_id, toStartOfHour(occurred_at), token_key) IN (
      SELECT client_id, hour, event_token_key FROM {{db}}.token_locations
      WHERE tenant = {tenant:String} AND token_key IN {keys:Array(String)})
  AND event_type = 'token.exchanged'
  AND (token_key IN {keys:Array(String)} OR subject_token_key IN {keys:Array(String)})
ORDER BY occurred_at, event_id
LIMIT 1 BY event_id
LIMIT {limit:UInt32}
SETTINGS max_threads = 1
