-- Detection findings, deduplicated per rule and key: finding_id is derived from the rule id and
-- its dedup key. Every update (a new occurrence, a triage change) writes a row with a higher
-- version; reads use FINAL so the latest version wins.
CREATE TABLE IF NOT EXISTS {{db}}.findings {{on_cluster}}
(
    tenant LowCardinality(String),
    finding_id String,
    rule_id LowCardinality(String),
    severity LowCardinality(String),
    title String,
    status LowCardinality(String),
    keys Map(String, String),
    token_key String,
    client_id String,
    resource String,
    evidence String,
    mappings String,
    first_seen DateTime64(3, 'UTC'),
    last_seen DateTime64(3, 'UTC'),
    count UInt64,
    note String,
    assignee String,
    updated_at DateTime64(3, 'UTC'),
    updated_by String,
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
