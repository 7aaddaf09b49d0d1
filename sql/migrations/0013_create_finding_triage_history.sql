-- The history of analysts' triage: one row per changed field (status, assignee or note) of a
-- finding, with who changed it, when, and the value before and after. finding_triage keeps only
-- the latest version (ReplacingMergeTree); this table keeps every change, oldest first by `at`.
-- change_id is unique per change, so an insert repeated after a timeout stores it once.
CREATE TABLE IF NOT EXISTS {{db}}.finding_triage_history {{on_cluster}}
(
    tenant LowCardinality(String),
    finding_id String,
    change_id String,
    at DateTime64(3, 'UTC'),
    by String,
    field LowCardinality(String),
    from_value String,
    to_value String
)
ENGINE = {{replicated}}ReplacingMergeTree
ORDER BY (tenant, finding_id, at, change_id)
TTL {{ttl.finding_triage_history}}
SETTINGS index_granularity = 8192{{dedup_window}};
