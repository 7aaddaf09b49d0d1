-- Per-client usage rollup: per day, client, resource and event type, events and distinct tokens.
CREATE TABLE IF NOT EXISTS {{db}}.client_usage_daily {{on_cluster}}
(
    tenant LowCardinality(String),
    day Date,
    client_id String,
    resource_canonical String,
    event_type LowCardinality(String),
    decision LowCardinality(String),
    events SimpleAggregateFunction(sum, UInt64),
    tokens AggregateFunction(uniq, String),
    first_seen SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = {{replicated}}AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant, client_id, resource_canonical, event_type, decision, day)
TTL {{ttl.client_usage_daily}}
SETTINGS index_granularity = 8192{{dedup_window}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.client_usage_daily_mv {{on_cluster}}
TO {{db}}.client_usage_daily
AS SELECT
    tenant,
    toDate(occurred_at) AS day,
    client_id,
    res AS resource_canonical,
    event_type,
    decision,
    toUInt64(count()) AS events,
    uniqState(token_key) AS tokens,
    min(occurred_at) AS first_seen,
    max(occurred_at) AS last_seen
FROM
(
    -- A subquery, so that the output names above do not shadow the events columns used here.
    -- The resource of an event: the RS's own for presentations, else the granted audiences,
    -- else the requested resources, else '' (a request without a resource indicator).
    SELECT
        tenant,
        occurred_at,
        client_id,
        event_type,
        decision,
        token_key,
        arrayJoin(if(
            event_type = 'token.presented',
            [resource_canonical],
            if(empty(granted_aud_canonical), if(empty(requested_resources_canonical), [''], requested_resources_canonical), granted_aud_canonical)
        )) AS res
    FROM {{db}}.events
    WHERE client_id != ''
)
GROUP BY tenant, day, client_id, resource_canonical, event_type, decision;
