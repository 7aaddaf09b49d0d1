-- Per-token rollup for the compliance report: per tenant, hour of occurred_at and token key (as a
-- 64-bit hash; events without a token share the hash of the empty key), the figures the report
-- needs of each token and the per-event counts. The report reads whole hours here and the
-- partial hours at the ends of its period from events (sql/queries/report-token-metrics.sql):
-- about 1.5M rows instead of 9M events for a 30-day report over 10M events.
--
-- An event stored twice (a redelivery the insert dedup did not catch, a backfill that overlaps
-- the view) adds to the sums twice but not to event_ids, the distinct event ids (as 64-bit
-- hashes): a token whose events outnumber its distinct ids tells the report to count that token's
-- events again from events, each once. Every other figure is a maximum or a minimum, which a
-- repeat cannot change. least/greatest_resource are Nullable so an hour without a presentation at a resource
-- adds nothing to them (a 0 would become the least resource of the token).
CREATE TABLE IF NOT EXISTS {{db}}.token_usage_hourly {{on_cluster}}
(
    tenant LowCardinality(String),
    hour DateTime('UTC'),
    token_hash UInt64,
    events SimpleAggregateFunction(sum, UInt64),
    event_ids AggregateFunction(uniqExact, UInt64),
    presentations SimpleAggregateFunction(sum, UInt64),
    accepted SimpleAggregateFunction(sum, UInt64),
    accepted_validated SimpleAggregateFunction(sum, UInt64),
    accepted_mismatches SimpleAggregateFunction(sum, UInt64),
    token_requests SimpleAggregateFunction(sum, UInt64),
    token_requests_with_resource SimpleAggregateFunction(sum, UInt64),
    loggable_presentations SimpleAggregateFunction(sum, UInt64),
    complete_presentations SimpleAggregateFunction(sum, UInt64),
    mcp_presentations SimpleAggregateFunction(sum, UInt64),
    max_aud SimpleAggregateFunction(max, UInt64),
    least_resource SimpleAggregateFunction(min, Nullable(UInt64)),
    greatest_resource SimpleAggregateFunction(max, Nullable(UInt64)),
    outside SimpleAggregateFunction(max, UInt8),
    exp SimpleAggregateFunction(max, Nullable(Int64)),
    last_accepted SimpleAggregateFunction(max, Int64),
    lifetime SimpleAggregateFunction(max, Nullable(Int64))
)
ENGINE = {{replicated}}AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant, hour, token_hash)
TTL {{ttl.token_usage_hourly}}
SETTINGS index_granularity = 8192{{dedup_window}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.token_usage_hourly_mv {{on_cluster}}
TO {{db}}.token_usage_hourly
AS SELECT
    tenant,
    toStartOfHour(occurred_at) AS hour,
    cityHash64(token_key) AS token_hash,
    toUInt64(count()) AS events,
    uniqExactState(cityHash64(event_id)) AS event_ids,
    toUInt64(countIf(event_type = 'token.presented')) AS presentations,
    toUInt64(countIf(event_type = 'token.presented' AND decision = 'accepted')) AS accepted,
    toUInt64(countIf(event_type = 'token.presented' AND decision = 'accepted' AND aud_validated = true)) AS accepted_validated,
    toUInt64(countIf(event_type = 'token.presented' AND decision = 'accepted' AND aud_match = 'different')) AS accepted_mismatches,
    toUInt64(countIf(event_type != 'token.presented')) AS token_requests,
    toUInt64(countIf(event_type != 'token.presented' AND notEmpty(requested_resources))) AS token_requests_with_resource,
    toUInt64(countIf(event_type = 'token.presented' AND reason != 'missing_token')) AS loggable_presentations,
    toUInt64(countIf(event_type = 'token.presented' AND reason != 'missing_token' AND notEmpty(resource) AND notEmpty(presented_aud)
        AND (source_kind != 'mcp_server' OR (tool_method != '' AND (tool_method != 'tools/call' OR notEmpty(tool_name)))))) AS complete_presentations,
    toUInt64(countIf(event_type = 'token.presented' AND source_kind = 'mcp_server')) AS mcp_presentations,
    toUInt64(max(greatest(length(arrayDistinct(granted_aud_canonical)), length(arrayDistinct(presented_aud_canonical))))) AS max_aud,
    minOrNullIf(cityHash64(resource_canonical), event_type = 'token.presented' AND notEmpty(resource_canonical)) AS least_resource,
    maxOrNullIf(cityHash64(resource_canonical), event_type = 'token.presented' AND notEmpty(resource_canonical)) AS greatest_resource,
    toUInt8(max(event_type = 'token.presented' AND aud_match = 'different')) AS outside,
    max(token_exp) AS exp,
    maxIf(toInt64(toUnixTimestamp(occurred_at)), event_type = 'token.presented' AND decision = 'accepted') AS last_accepted,
    max(token_exp - token_iat) AS lifetime
FROM {{db}}.events
GROUP BY tenant, hour, token_hash;

-- The events stored before this migration. After the view, so an event inserted in between is
-- counted twice (which the report detects and reads around) rather than missed; emptied first,
-- so that a migration that failed part way and runs again does not count everything twice.
TRUNCATE TABLE IF EXISTS {{db}}.token_usage_hourly {{on_cluster}};

INSERT INTO {{db}}.token_usage_hourly
SELECT
    tenant,
    toStartOfHour(occurred_at) AS hour,
    cityHash64(token_key) AS token_hash,
    toUInt64(count()) AS events,
    uniqExactState(cityHash64(event_id)) AS event_ids,
    toUInt64(countIf(event_type = 'token.presented')) AS presentations,
    toUInt64(countIf(event_type = 'token.presented' AND decision = 'accepted')) AS accepted,
    toUInt64(countIf(event_type = 'token.presented' AND decision = 'accepted' AND aud_validated = true)) AS accepted_validated,
    toUInt64(countIf(event_type = 'token.presented' AND decision = 'accepted' AND aud_match = 'different')) AS accepted_mismatches,
    toUInt64(countIf(event_type != 'token.presented')) AS token_requests,
    toUInt64(countIf(event_type != 'token.presented' AND notEmpty(requested_resources))) AS token_requests_with_resource,
    toUInt64(countIf(event_type = 'token.presented' AND reason != 'missing_token')) AS loggable_presentations,
    toUInt64(countIf(event_type = 'token.presented' AND reason != 'missing_token' AND notEmpty(resource) AND notEmpty(presented_aud)
        AND (source_kind != 'mcp_server' OR (tool_method != '' AND (tool_method != 'tools/call' OR notEmpty(tool_name)))))) AS complete_presentations,
    toUInt64(countIf(event_type = 'token.presented' AND source_kind = 'mcp_server')) AS mcp_presentations,
    toUInt64(max(greatest(length(arrayDistinct(granted_aud_canonical)), length(arrayDistinct(presented_aud_canonical))))) AS max_aud,
    minOrNullIf(cityHash64(resource_canonical), event_type = 'token.presented' AND notEmpty(resource_canonical)) AS least_resource,
    maxOrNullIf(cityHash64(resource_canonical), event_type = 'token.presented' AND notEmpty(resource_canonical)) AS greatest_resource,
    toUInt8(max(event_type = 'token.presented' AND aud_match = 'different')) AS outside,
    max(token_exp) AS exp,
    maxIf(toInt64(toUnixTimestamp(occurred_at)), event_type = 'token.presented' AND decision = 'accepted') AS last_accepted,
    max(token_exp - token_iat) AS lifetime
FROM {{db}}.events
GROUP BY tenant, hour, token_hash;
