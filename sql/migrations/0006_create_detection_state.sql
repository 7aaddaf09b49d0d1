-- Detection state. finding_occurrences: one row per (finding, event) so that a redelivered event
-- or a re-run window never counts twice. finding_triage: the analyst's status, note and assignee.
-- exceptions: scoped, owned, expiring suppressions. detector_watermarks: how far each scheduled
-- rule has evaluated received_at, so a restart neither skips nor repeats a window.
CREATE TABLE IF NOT EXISTS {{db}}.finding_occurrences {{on_cluster}}
(
    tenant LowCardinality(String),
    finding_id String,
    occurrence_id String,
    severity LowCardinality(String),
    at DateTime64(3, 'UTC')
)
ENGINE = {{replicated}}ReplacingMergeTree
ORDER BY (tenant, finding_id, occurrence_id)
TTL {{ttl.finding_occurrences}}
SETTINGS index_granularity = 8192{{dedup_window}};

CREATE TABLE IF NOT EXISTS {{db}}.finding_triage {{on_cluster}}
(
    tenant LowCardinality(String),
    finding_id String,
    status LowCardinality(String),
    note String,
    assignee String,
    updated_at DateTime64(3, 'UTC'),
    updated_by String,
    version UInt64
)
ENGINE = {{replicated}}ReplacingMergeTree(version)
ORDER BY (tenant, finding_id)
SETTINGS index_granularity = 8192{{dedup_window}};

CREATE TABLE IF NOT EXISTS {{db}}.exceptions {{on_cluster}}
(
    tenant LowCardinality(String),
    exception_id String,
    rule_id LowCardinality(String),
    match Map(String, String),
    owner String,
    reason String,
    created_at DateTime64(3, 'UTC'),
    expires_at DateTime64(3, 'UTC'),
    deleted Bool,
    version UInt64
)
ENGINE = {{replicated}}ReplacingMergeTree(version)
ORDER BY (tenant, exception_id)
SETTINGS index_granularity = 8192{{dedup_window}};

CREATE TABLE IF NOT EXISTS {{db}}.detector_watermarks {{on_cluster}}
(
    rule_id LowCardinality(String),
    watermark DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC')
)
ENGINE = {{replicated}}ReplacingMergeTree(updated_at)
ORDER BY rule_id
SETTINGS index_granularity = 8192{{dedup_window}};
