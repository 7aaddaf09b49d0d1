-- The token timeline's events in one read of the token's granules: one page of its presentations
-- (as token-presentations.sql: oldest first, keyset-paginated on (occurred_at, event_id as text)
-- after {cursor_at}/{cursor_id}, at most {fetch}) and its other events with the exchanges that
-- took it as subject token (as token-lifecycle.sql: oldest first by (occurred_at, event_id), at
-- most {limit}). The two read the same rows (the larger part of each one's cost), so reading them once costs about one of them. The caller tells them
-- apart: a presentation is an event of event_type token.presented whose token_key is the key.
-- One row per event by LIMIT 1 BY, as token-events.sql; the token's events read from
-- token_timeline (migration 0018: filed under the key, sorted by it, a point read; each event
-- one JSON column, parsed by src/storage/token-timeline.ts).
SELECT event, occurred_at, received_at
FROM
(
    SELECT *, row_number() OVER (PARTITION BY presentation ORDER BY occurred_at, sort_id, event_id) AS n
    FROM
    (
        SELECT event, occurred_at, received_at, event_id,
               token_key = {key:String} AND event_type = 'token.presented' AS presentation,
               if(presentation, toString(event_id), '') AS sort_id
        FROM {{db}}.token_timeline
        WHERE tenant = {tenant:String}
          AND timeline_key = {key:String}
          AND (NOT presentation OR {cursor_id:String} = ''
               OR (occurred_at, toString(event_id)) > ({cursor_at:DateTime64(3, 'UTC')}, {cursor_id:String}))
        ORDER BY presentation, occurred_at, sort_id, event_id
        LIMIT 1 BY event_id
    )
)
WHERE n <= if(presentation, {fetch:UInt32}, {limit:UInt32})
ORDER BY presentation, occurred_at, sort_id, event_id
SETTINGS max_threads = 1
