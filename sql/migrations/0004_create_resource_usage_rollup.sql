-- Resource inventory rollup: per day, every raw spelling of a resource in each role (requested,
-- granted aud, presented aud, the RS's own configuration) with its canonical form and drift key.
-- Counts are exact when inserts are deduplicated (the pipeline's insert dedup tokens).
CREATE TABLE IF NOT EXISTS {{db}}.resource_usage_daily {{on_cluster}}
(
    tenant LowCardinality(String),
    day Date,
    resource_drift_key String,
    resource_canonical String,
    resource_raw String,
    role LowCardinality(String),
    decision LowCardinality(String),
    events SimpleAggregateFunction(sum, UInt64),
    first_seen SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = {{replicated}}AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant, resource_drift_key, resource_canonical, resource_raw, role, decision, day)
TTL {{ttl.resource_usage_daily}}
SETTINGS index_granularity = 8192{{dedup_window}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.resource_usage_daily_mv {{on_cluster}}
TO {{db}}.resource_usage_daily
AS SELECT
    tenant,
    toDate(occurred_at) AS day,
    tupleElement(r, 3) AS resource_drift_key,
    tupleElement(r, 2) AS resource_canonical,
    tupleElement(r, 1) AS resource_raw,
    tupleElement(r, 4) AS role,
    decision,
    toUInt64(count()) AS events,
    min(occurred_at) AS first_seen,
    max(occurred_at) AS last_seen
FROM
(
    -- A subquery, so that the output names above do not shadow the events columns used here.
    SELECT
        tenant,
        occurred_at,
        decision,
        arrayJoin(arrayConcat(
            arrayMap((a, b, c) -> (a, b, c, 'requested'), requested_resources, requested_resources_canonical, requested_resources_drift),
            arrayMap((a, b, c) -> (a, b, c, 'granted_aud'), granted_aud, granted_aud_canonical, granted_aud_drift),
            arrayMap((a, b, c) -> (a, b, c, 'presented_aud'), presented_aud, presented_aud_canonical, presented_aud_drift),
            if(resource = '', [], [(resource, resource_canonical, resource_drift_key, 'resource_server')])
        )) AS r
    FROM {{db}}.events
)
GROUP BY tenant, day, resource_drift_key, resource_canonical, resource_raw, role, decision;
