-- Per-client activity rollup for /v1/clients: per tenant, client and day, the events, rejected
-- presentations, distinct tokens (an estimate, uniq), canonical resources and first and last
-- seen. client_usage_daily holds the same per resource, event type and decision (for the
-- dashboards); one row per client and day makes a page of clients about a third cheaper (the
-- first 50 of 2000 clients over 30 days and 10M events: 30 ms against 44 ms). The resource of an
-- event: the RS's own for presentations, else its granted audiences, else its requested
-- resources. Events without a token add no token (client_usage_daily counts the empty key).
CREATE TABLE IF NOT EXISTS {{db}}.client_activity_daily {{on_cluster}}
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
TTL {{ttl.client_activity_daily}}
SETTINGS index_granularity = 8192{{dedup_window}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.client_activity_daily_mv {{on_cluster}}
TO {{db}}.client_activity_daily
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

-- The events stored before this migration (after the view: an event inserted in between counts
-- twice here rather than not at all; stop consume while migrating to have neither). Emptied
-- first, so that a migration that failed part way and runs again does not count twice.
TRUNCATE TABLE IF EXISTS {{db}}.client_activity_daily {{on_cluster}};

INSERT INTO {{db}}.client_activity_daily
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
