-- Per-client activity in aligned blocks of days, pre-merged (issue 32): what /v1/clients reads,
-- in place of client_activity_daily (0009) and client_activity_daily_fine (0017), which this
-- migration drops with their views. A page of clients over 30 days merged 31 distinct-token states
-- per client (one a day); their cost grows with the tokens of a day, and at 30M events it was
-- most of the page (docs/design/client-usage.md).
--
-- A row holds what 0009's row held (events, rejected presentations, distinct tokens as a `uniq`
-- state, canonical resources, first and last seen) for one client over the days
-- [start, start + level): level 1, 2, 4, 8, 16 or 32 days, `start` a multiple of `level` days
-- since 1970-01-01. Every day is in one block of each level. The window of /v1/clients, from a day
-- D to now, is tiled exactly by at most one block of each level below 32 (the blocks
-- [D_L, D_L + L) where D_L, the first multiple of L from D, is not a multiple of 2L) and the
-- 32-day blocks from the first multiple of 32 from D on: at most 5 + 2 rows per client for 30
-- days instead of 31 (src/storage/day-blocks.ts computes them). `uniq` states merged in any
-- grouping give the same state (the set keeps the hashes of the union that pass its final skip
-- degree), so the counts are the ones the daily rows gave.
--
-- Sorted by (tenant, level, start, client_id): the blocks of a window are a handful of key ranges,
-- in each of which the page's clients sit together. Granules of 32 rows: a page reads its rows,
-- not the neighbours' states. Partitioned by month only (not by level too: fewer parts to read,
-- 15 % less CPU for a page at 10M events). A block expires with its first day (TTL on `start`): it never keeps
-- an event's figures past the retention of `events`; a window reaching back past the retention
-- can miss up to 31 retained days at its old end (the daily rollups missed none, and kept none).
CREATE TABLE IF NOT EXISTS {{db}}.client_activity_blocks {{on_cluster}}
(
    tenant LowCardinality(String),
    level UInt8,
    start Date,
    client_id String,
    events SimpleAggregateFunction(sum, UInt64),
    rejected SimpleAggregateFunction(sum, UInt64),
    tokens AggregateFunction(uniq, String),
    resources SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    first_seen SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = {{replicated}}AggregatingMergeTree
PARTITION BY toYYYYMM(start)
ORDER BY (tenant, level, start, client_id)
TTL {{ttl.client_activity_blocks}}
SETTINGS index_granularity = 32{{dedup_window}};

-- Each inserted block of events grouped per client and day first (0009's query), then each day
-- row added to its block of every level.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.client_activity_blocks_mv {{on_cluster}}
TO {{db}}.client_activity_blocks
AS SELECT
    tenant,
    level,
    day_of - toIntervalDay(toUInt32(day_of) % level) AS start,
    client_id,
    sum(day_events) AS events,
    sum(day_rejected) AS rejected,
    uniqMergeState(day_tokens) AS tokens,
    groupUniqArrayArray(day_resources) AS resources,
    min(day_first_seen) AS first_seen,
    max(day_last_seen) AS last_seen
FROM
(
    SELECT
        tenant,
        client_id,
        toDate(occurred_at) AS day_of,
        toUInt64(count()) AS day_events,
        toUInt64(countIf(event_type = 'token.presented' AND decision = 'rejected')) AS day_rejected,
        uniqStateIf(token_key, token_key != '') AS day_tokens,
        groupUniqArrayArray(arrayFilter(r -> r != '', if(
            event_type = 'token.presented',
            [resource_canonical],
            if(empty(granted_aud_canonical), requested_resources_canonical, granted_aud_canonical)
        ))) AS day_resources,
        min(occurred_at) AS day_first_seen,
        max(occurred_at) AS day_last_seen
    FROM {{db}}.events
    WHERE client_id != ''
    GROUP BY tenant, client_id, day_of
)
ARRAY JOIN [1, 2, 4, 8, 16, 32] AS level
GROUP BY tenant, level, start, client_id;

-- Nothing reads the daily rollups any more: their views stop, their tables go (what they held is
-- in the level-1 rows here, backfilled from `events` below).
DROP VIEW IF EXISTS {{db}}.client_activity_daily_mv {{on_cluster}};
DROP VIEW IF EXISTS {{db}}.client_activity_daily_fine_mv {{on_cluster}};
DROP TABLE IF EXISTS {{db}}.client_activity_daily {{on_cluster}};
DROP TABLE IF EXISTS {{db}}.client_activity_daily_fine {{on_cluster}};

-- The events stored before this migration, from `events` (as 0009 and 0017 filled theirs): after
-- the view, so an event inserted in between counts twice here rather than not at all (stop consume
-- while migrating to have neither); emptied first, so that a migration that failed part way and
-- runs again does not count twice.
TRUNCATE TABLE IF EXISTS {{db}}.client_activity_blocks {{on_cluster}};

INSERT INTO {{db}}.client_activity_blocks
SELECT
    tenant,
    level,
    day_of - toIntervalDay(toUInt32(day_of) % level) AS start,
    client_id,
    sum(day_events) AS events,
    sum(day_rejected) AS rejected,
    uniqMergeState(day_tokens) AS tokens,
    groupUniqArrayArray(day_resources) AS resources,
    min(day_first_seen) AS first_seen,
    max(day_last_seen) AS last_seen
FROM
(
    SELECT
        tenant,
        client_id,
        toDate(occurred_at) AS day_of,
        toUInt64(count()) AS day_events,
        toUInt64(countIf(event_type = 'token.presented' AND decision = 'rejected')) AS day_rejected,
        uniqStateIf(token_key, token_key != '') AS day_tokens,
        groupUniqArrayArray(arrayFilter(r -> r != '', if(
            event_type = 'token.presented',
            [resource_canonical],
            if(empty(granted_aud_canonical), requested_resources_canonical, granted_aud_canonical)
        ))) AS day_resources,
        min(occurred_at) AS day_first_seen,
        max(occurred_at) AS day_last_seen
    FROM {{db}}.events
    WHERE client_id != ''
    GROUP BY tenant, client_id, day_of
)
ARRAY JOIN [1, 2, 4, 8, 16, 32] AS level
GROUP BY tenant, level, start, client_id;
