-- A token's events other than presentations in one tenant (its issuance, the exchanges that
-- issued it) and the exchanges that took it as subject token, oldest first; at most {limit} (the
-- caller asks for one more, to say when the limit cut the list). One row per event by
-- LIMIT 1 BY, as token-events.sql.
SELECT {{stored_event_columns}}
FROM {{db}}.events
WHERE tenant = {tenant:String}
  AND ((token_key = {key:String} AND event_type != 'token.presented') OR subject_token_key = {key:String})
ORDER BY occurred_at, event_id
LIMIT 1 BY event_id
LIMIT {limit:UInt32}
SETTINGS max_threads = 1
