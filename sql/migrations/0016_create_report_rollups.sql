-- Two tables for the compliance report (docs/design/report-performance.md), so that it reads
-- no raw events: at 10M events, reading the partial hours at a period's ends from `events` cost
-- 0.87 s of CPU (`events` is sorted by client first, so two hours' events sit in half of its
-- granules, every aggregated column decompressed), and report-sources.sql's 60-day scan 0.5 s.
--
-- report_event_facts: one narrow row per event, sorted by time: what report-token-metrics.sql
-- aggregates of it (token and event id as 64-bit hashes, 0/1 flags for the conditions it
-- counts, the audience count, the resource hash, exp, the accepted time, the lifetime) and its
-- source. The report reads the partial hours at the ends of its period here: a few granules
-- instead of half the table, the answers the same (the expressions are token_usage_hourly's of
-- 0008 before aggregation). ReplacingMergeTree like `events`: a version of an event stored twice
-- with the same time collapses on a merge; until then (or if its versions differ in time) the
-- token's events outnumber its distinct ids, and the report counts that token again from
-- `events`, each event once, as it does for the rollup.
--
-- source_activity_hourly: per tenant, hour and source, the stored events and the first and last
-- time seen. report-sources.sql reads whole hours here and the partial hours from
-- report_event_facts. An event stored twice counts twice here, as it does in `events` until a
-- merge collapses it.
CREATE TABLE IF NOT EXISTS {{db}}.report_event_facts {{on_cluster}}
(
    tenant LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    token_hash UInt64,
    event_hash UInt64,
    source_kind LowCardinality(String),
    source_id LowCardinality(String),
    presented UInt8,
    accepted UInt8,
    accepted_validated UInt8,
    accepted_mismatch UInt8,
    token_request UInt8,
    token_request_with_resource UInt8,
    loggable UInt8,
    complete UInt8,
    mcp UInt8,
    aud_count UInt64,
    resource_hash Nullable(UInt64),
    outside UInt8,
    exp Nullable(Int64),
    accepted_at Int64,
    lifetime Nullable(Int64)
)
ENGINE = {{replicated}}ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant, occurred_at, token_hash, event_hash)
TTL {{ttl.report_event_facts}}
SETTINGS index_granularity = 8192, min_bytes_for_wide_part = 67108864{{dedup_window}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.report_event_facts_mv {{on_cluster}}
TO {{db}}.report_event_facts
AS SELECT
    tenant,
    occurred_at,
    cityHash64(token_key) AS token_hash,
    cityHash64(event_id) AS event_hash,
    source_kind,
    source_id,
    toUInt8(event_type = 'token.presented') AS presented,
    toUInt8(event_type = 'token.presented' AND decision = 'accepted') AS accepted,
    toUInt8(coalesce(event_type = 'token.presented' AND decision = 'accepted' AND aud_validated = true, false)) AS accepted_validated,
    toUInt8(event_type = 'token.presented' AND decision = 'accepted' AND aud_match = 'different') AS accepted_mismatch,
    toUInt8(event_type != 'token.presented') AS token_request,
    toUInt8(event_type != 'token.presented' AND notEmpty(requested_resources)) AS token_request_with_resource,
    toUInt8(event_type = 'token.presented' AND reason != 'missing_token') AS loggable,
    toUInt8(event_type = 'token.presented' AND reason != 'missing_token' AND notEmpty(resource) AND notEmpty(presented_aud)
        AND (source_kind != 'mcp_server' OR (tool_method != '' AND (tool_method != 'tools/call' OR notEmpty(tool_name))))) AS complete,
    toUInt8(event_type = 'token.presented' AND source_kind = 'mcp_server') AS mcp,
    toUInt64(greatest(length(arrayDistinct(granted_aud_canonical)), length(arrayDistinct(presented_aud_canonical)))) AS aud_count,
    if(event_type = 'token.presented' AND notEmpty(resource_canonical), CAST(cityHash64(resource_canonical), 'Nullable(UInt64)'), NULL) AS resource_hash,
    toUInt8(event_type = 'token.presented' AND aud_match = 'different') AS outside,
    token_exp AS exp,
    if(event_type = 'token.presented' AND decision = 'accepted', toInt64(toUnixTimestamp(occurred_at)), toInt64(0)) AS accepted_at,
    token_exp - token_iat AS lifetime
FROM {{db}}.events;

CREATE TABLE IF NOT EXISTS {{db}}.source_activity_hourly {{on_cluster}}
(
    tenant LowCardinality(String),
    hour DateTime('UTC'),
    source_kind LowCardinality(String),
    source_id LowCardinality(String),
    events SimpleAggregateFunction(sum, UInt64),
    first_seen SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = {{replicated}}AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant, hour, source_kind, source_id)
TTL {{ttl.source_activity_hourly}}
SETTINGS index_granularity = 8192{{dedup_window}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.source_activity_hourly_mv {{on_cluster}}
TO {{db}}.source_activity_hourly
AS SELECT
    tenant,
    toStartOfHour(occurred_at) AS hour,
    source_kind,
    source_id,
    toUInt64(count()) AS events,
    min(occurred_at) AS first_seen,
    max(occurred_at) AS last_seen
FROM {{db}}.events
GROUP BY tenant, hour, source_kind, source_id;

-- The events stored before this migration. After the views, so an event inserted in between is
-- counted twice (a repeat the report detects and reads around, or a source count one over)
-- rather than missed; stop consume while migrating to have neither. Emptied first, so that a
-- migration that failed part way and runs again does not count everything twice.
TRUNCATE TABLE IF EXISTS {{db}}.report_event_facts {{on_cluster}};

INSERT INTO {{db}}.report_event_facts
SELECT
    tenant,
    occurred_at,
    cityHash64(token_key) AS token_hash,
    cityHash64(event_id) AS event_hash,
    source_kind,
    source_id,
    toUInt8(event_type = 'token.presented') AS presented,
    toUInt8(event_type = 'token.presented' AND decision = 'accepted') AS accepted,
    toUInt8(coalesce(event_type = 'token.presented' AND decision = 'accepted' AND aud_validated = true, false)) AS accepted_validated,
    toUInt8(event_type = 'token.presented' AND decision = 'accepted' AND aud_match = 'different') AS accepted_mismatch,
    toUInt8(event_type != 'token.presented') AS token_request,
    toUInt8(event_type != 'token.presented' AND notEmpty(requested_resources)) AS token_request_with_resource,
    toUInt8(event_type = 'token.presented' AND reason != 'missing_token') AS loggable,
    toUInt8(event_type = 'token.presented' AND reason != 'missing_token' AND notEmpty(resource) AND notEmpty(presented_aud)
        AND (source_kind != 'mcp_server' OR (tool_method != '' AND (tool_method != 'tools/call' OR notEmpty(tool_name))))) AS complete,
    toUInt8(event_type = 'token.presented' AND source_kind = 'mcp_server') AS mcp,
    toUInt64(greatest(length(arrayDistinct(granted_aud_canonical)), length(arrayDistinct(presented_aud_canonical)))) AS aud_count,
    if(event_type = 'token.presented' AND notEmpty(resource_canonical), CAST(cityHash64(resource_canonical), 'Nullable(UInt64)'), NULL) AS resource_hash,
    toUInt8(event_type = 'token.presented' AND aud_match = 'different') AS outside,
    token_exp AS exp,
    if(event_type = 'token.presented' AND decision = 'accepted', toInt64(toUnixTimestamp(occurred_at)), toInt64(0)) AS accepted_at,
    token_exp - token_iat AS lifetime
FROM {{db}}.events;

TRUNCATE TABLE IF EXISTS {{db}}.source_activity_hourly {{on_cluster}};

INSERT INTO {{db}}.source_activity_hourly
SELECT
    tenant,
    toStartOfHour(occurred_at) AS hour,
    source_kind,
    source_id,
    toUInt64(count()) AS events,
    min(occurred_at) AS first_seen,
    max(occurred_at) AS last_seen
FROM {{db}}.events
GROUP BY tenant, hour, source_kind, source_id;
