-- The durable alert outbox: an alert is written here before any delivery is tried, and every
-- attempt writes a new version (attempts, next try, delivered), so alerts survive a restart.
-- alert_id is derived from the finding, the channel and a throttle window: one alert per finding
-- per window and channel, plus one whenever the severity rises.
CREATE TABLE IF NOT EXISTS {{db}}.alert_outbox {{on_cluster}}
(
    tenant LowCardinality(String),
    alert_id String,
    channel LowCardinality(String),
    finding_id String,
    payload String,
    created_at DateTime64(3, 'UTC'),
    attempts UInt32,
    next_attempt_at DateTime64(3, 'UTC'),
    delivered Bool,
    last_error String,
    version UInt64
)
ENGINE = {{replicated}}ReplacingMergeTree(version)
ORDER BY (alert_id, channel)
TTL toDateTime(created_at) + toIntervalDay(30)
SETTINGS index_granularity = 8192{{dedup_window}};
