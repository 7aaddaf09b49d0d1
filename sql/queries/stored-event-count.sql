-- How many rows `events` holds (an upper bound of its distinct ids): whether the embedded engine's
-- in-memory filter of stored ids can hold them all (src/pipeline/stored-ids.ts).
SELECT count() AS rows
FROM {{db}}.events
