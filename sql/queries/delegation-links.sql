-- The RFC 8693 exchanges that link the given token keys of one tenant to others: those that issued
-- one of them (token_key in {keys}: the link to its subject token) and those that took one of them
-- as subject (subject_token_key in {keys}: the links to the tokens exchanged from it). One row per
-- event by LIMIT 1 BY (see token-events.sql); the caller walks the chain a level per query.
-- The exchanges are read from token_timeline (migration 0018), where each is filed under both its
-- token's key and its subject token's key: a point read per key. The columns it does not hold
-- come from the event's JSON (`event`: the stored columns; attributes' values are JSON text).
SELECT
    event_id,
    occurred_at,
    token_key,
    subject_token_key,
    JSONExtractString(event, 'client_id') AS client_id,
    JSONExtractString(event, 'actor_subject') AS actor_subject,
    JSONExtractString(event, 'actor_client_id') AS actor_client_id,
    JSONExtract(event, 'granted_aud', 'Array(String)') AS granted_aud,
    JSONExtract(event, 'token_scopes', 'Array(String)') AS token_scopes,
    JSONExtractString(event, 'attributes', 'act_depth') AS act_depth
FROM {{db}}.token_timeline
WHERE tenant = {tenant:String}
  AND timeline_key IN {keys:Array(String)}
  AND event_type = 'token.exchanged'
  AND (token_key IN {keys:Array(String)} OR subject_token_key IN {keys:Array(String)})
ORDER BY occurred_at, event_id
LIMIT 1 BY event_id
LIMIT {limit:UInt32}
SETTINGS max_threads = 1
