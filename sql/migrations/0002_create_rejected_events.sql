-- Input that failed decoding or validation: the reasons and the raw payload (size-capped, stored
-- as an opaque string, never interpreted). rejection_id is derived from the transport position
-- (topic/partition/offset, or the HTTP request and line), so a redelivered rejection collapses.
CREATE TABLE IF NOT EXISTS {{db}}.rejected_events {{on_cluster}}
(
    tenant LowCardinality(String),
    rejection_id String,
    received_at DateTime64(3, 'UTC'),
    transport LowCardinality(String),
    source_ref String,
    reasons Array(String),
    event_id String,
    event_type String,
    payload String,
    payload_bytes UInt32,
    payload_truncated Bool,
    payload_sha256 String,
    INDEX idx_received_at received_at TYPE minmax GRANULARITY 1
)
ENGINE = {{replicated}}ReplacingMergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (tenant, rejection_id)
TTL {{ttl.rejected_events}}
SETTINGS index_granularity = 8192{{dedup_window}};
