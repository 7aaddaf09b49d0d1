-- Every event of one token in one tenant, oldest first (issuance, presentations, exchanges).
-- One row per event by LIMIT 1 BY, not FINAL: the versions of an event hold the same values
-- (all derived from the event) and sort next to each other, and without FINAL the token_key and
-- subject_token_key skip indexes select the granules directly. With FINAL the engine widens that
-- selection to every granule whose primary-key range could hold another version (about 16x the
-- granules, 700 ms instead of 45 ms over 10M events in bench:api). Only the columns the API
-- shows are read (each column of each part read has a cost of its own). One thread: the query
-- reads a granule or two, and analysts run many at once; on two cores with four at a time, one
-- thread each served 57 timelines/s (p95 107 ms) against 49/s (p95 119 to 127 ms) by default.
-- The token's events are read from token_timeline (migration 0018): the events that name the key,
-- filed under it and sorted by it in granules of 256 rows, each as one JSON column (`event`, the
-- columns the API shows; src/storage/token-timeline.ts parses it), so a point read of a granule.
SELECT event, occurred_at, received_at
FROM {{db}}.token_timeline
WHERE tenant = {tenant:String}
  AND timeline_key = {key:String}
ORDER BY occurred_at, event_id
LIMIT 1 BY event_id
LIMIT 10000
SETTINGS max_threads = 1
