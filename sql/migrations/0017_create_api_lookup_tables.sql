-- Two tables the API reads instead of scanning (issue 32). First, where each token's events are
-- stored, for the token timeline: `events` is sorted by (tenant, client_id, hour, token_key,
-- event_id), so a lookup by token key alone reads the token_key Bloom filter of every granule
-- (about 12 ms over 10M events, once per query, and the timeline ran three such queries and a
-- delegation walk of one or more). token_locations holds, per tenant and
-- key, the (client_id, hour, token_key) prefixes of the sorting key of the events that name it:
-- as their token_key, or as their subject_token_key (the exchanges that took it as subject token,
-- stored under the key of the token they issued). The timeline's queries read the token's
-- prefixes here (a point read: sorted by key) and then only the granules of `events` that hold
-- them, through the primary key. A few rows per token (one per client and hour it was seen in).
--
-- ReplacingMergeTree on the whole row: an insert block adds each prefix once (GROUP BY in the
-- view); a prefix added by several blocks, or by the view and the backfill both, collapses on a
-- merge, and until then the readers take it as a set (IN), where a repeat changes nothing. A
-- prefix is never wrong to have: the readers still match the token key on `events` itself.
-- Granules of 1024 rows: the readers look up one key at a time.
CREATE TABLE IF NOT EXISTS {{db}}.token_locations {{on_cluster}}
(
    tenant LowCardinality(String),
    token_key String,
    client_id String,
    hour DateTime('UTC'),
    event_token_key String
)
ENGINE = {{replicated}}ReplacingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant, token_key, client_id, hour, event_token_key)
TTL {{ttl.token_locations}}
SETTINGS index_granularity = 1024{{dedup_window}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.token_locations_mv {{on_cluster}}
TO {{db}}.token_locations
AS SELECT
    tenant,
    key AS token_key,
    client_id,
    toStartOfHour(occurred_at) AS hour,
    event_token_key
FROM
(
    -- A subquery, so that the output name token_key above does not shadow the events column.
    -- Each event under its own key and under its subject token's key (an exchange), once each.
    SELECT
        tenant,
        client_id,
        occurred_at,
        token_key AS event_token_key,
        arrayJoin(arrayDistinct(arrayFilter(k -> k != '', [token_key, subject_token_key]))) AS key
    FROM {{db}}.events
)
GROUP BY tenant, token_key, client_id, hour, event_token_key;

-- The events stored before this migration. After the view, so an event inserted in between adds
-- its prefix twice (which collapses, and a set ignores) rather than none; emptied first, so that
-- a migration that failed part way and runs again starts over.
TRUNCATE TABLE IF EXISTS {{db}}.token_locations {{on_cluster}};

INSERT INTO {{db}}.token_locations
SELECT
    tenant,
    key AS token_key,
    client_id,
    toStartOfHour(occurred_at) AS hour,
    event_token_key
FROM
(
    -- A subquery, so that the output name token_key above does not shadow the events column.
    -- Each event under its own key and under its subject token's key (an exchange), once each.
    SELECT
        tenant,
        client_id,
        occurred_at,
        token_key AS event_token_key,
        arrayJoin(arrayDistinct(arrayFilter(k -> k != '', [token_key, subject_token_key]))) AS key
    FROM {{db}}.events
)
GROUP BY tenant, token_key, client_id, hour, event_token_key;

-- client_activity_daily as 0009 made it, in granules of 256 rows (issue 32). /v1/clients reads a
-- page of clients in client_id order and stops after it, but the engine reads whole granules, and
-- deserializes the distinct-token state of every row it reads: at 10M events a page of 51
-- clients (about 1 500 rows) read 23 000 rows and 16 MB of states, most of them of clients the
-- page does not show; the states grow with the data. 0009's table keeps its 8 192 rows a granule
-- (a setting fixed when a table is made), so this one holds the same rows, fed by the same view
-- query, and client-usage.sql reads it.
CREATE TABLE IF NOT EXISTS {{db}}.client_activity_daily_fine {{on_cluster}}
(
    tenant LowCardinality(String),
    client_id String,
    day Date,
    events SimpleAggregateFunction(sum, UInt64),
    rejected SimpleAggregateFunction(sum, UInt64),
    tokens AggregateFunction(uniq, String),
    resources SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    first_seen SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = {{replicated}}AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant, client_id, day)
TTL {{ttl.client_activity_daily_fine}}
SETTINGS index_granularity = 256{{dedup_window}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.client_activity_daily_fine_mv {{on_cluster}}
TO {{db}}.client_activity_daily_fine
AS SELECT
    tenant,
    client_id,
    toDate(occurred_at) AS day,
    toUInt64(count()) AS events,
    toUInt64(countIf(event_type = 'token.presented' AND decision = 'rejected')) AS rejected,
    uniqStateIf(token_key, token_key != '') AS tokens,
    groupUniqArrayArray(arrayFilter(r -> r != '', if(
        event_type = 'token.presented',
        [resource_canonical],
        if(empty(granted_aud_canonical), requested_resources_canonical, granted_aud_canonical)
    ))) AS resources,
    min(occurred_at) AS first_seen,
    max(occurred_at) AS last_seen
FROM {{db}}.events
WHERE client_id != ''
GROUP BY tenant, client_id, day;

-- The events stored before this migration, from `events` (as 0009 filled its table): after the
-- view, so an event inserted in between counts twice here rather than not at all (stop consume
-- while migrating to have neither); emptied first, so that a migration that failed part way and
-- runs again does not count twice.
TRUNCATE TABLE IF EXISTS {{db}}.client_activity_daily_fine {{on_cluster}};

INSERT INTO {{db}}.client_activity_daily_fine
SELECT
    tenant,
    client_id,
    toDate(occurred_at) AS day,
    toUInt64(count()) AS events,
    toUInt64(countIf(event_type = 'token.presented' AND decision = 'rejected')) AS rejected,
    uniqStateIf(token_key, token_key != '') AS tokens,
    groupUniqArrayArray(arrayFilter(r -> r != '', if(
        event_type = 'token.presented',
        [resource_canonical],
        if(empty(granted_aud_canonical), requested_resources_canonical, granted_aud_canonical)
    ))) AS resources,
    min(occurred_at) AS first_seen,
    max(occurred_at) AS last_seen
FROM {{db}}.events
WHERE client_id != ''
GROUP BY tenant, client_id, day;
