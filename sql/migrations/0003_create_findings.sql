-- Detection findings, deduplicated per rule and key: finding_id is derived from the tenant, the
-- rule id and its dedup key. The detector writes a new version whenever occurrences are added
-- (count, first_seen and last_seen recomputed from finding_occurrences); reads use FINAL.
-- Triage lives in finding_triage, so analysts and the detector never overwrite each other.
CREATE TABLE IF NOT EXISTS {{db}}.findings {{on_cluster}}
(
    tenant LowCardinality(String),
    finding_id String,
    rule_id LowCardinality(String),
    severity LowCardinality(String),
    title String,
    keys Map(String, String),
    token_key String,
    client_id String,
    resource String,
    evidence String,
    mappings String,
    first_seen DateTime64(3, 'UTC'),
    last_seen DateTime64(3, 'UTC'),
    count UInt64,
    updated_at DateTime64(3, 'UTC'),
    version UInt64,
    INDEX idx_rule rule_id TYPE set(64) GRANULARITY 4,
    INDEX idx_token_key token_key TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_client client_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_resource resource TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_last_seen last_seen TYPE minmax GRANULARITY 1
)
ENGINE = {{replicated}}ReplacingMergeTree(version)
ORDER BY (tenant, finding_id)
TTL {{ttl.findings}}
SETTINGS index_granularity = 8192{{dedup_window}};
