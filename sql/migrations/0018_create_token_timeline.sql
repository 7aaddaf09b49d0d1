-- The token timeline's own copy of the events that name a token (issue 32, issue 23 item 5).
-- Through token_locations (0017) the timeline's reads found the token's granules of `events`, but
-- `events` is sorted by (tenant, client_id, hour, token_key, event_id) in granules of 8 192 rows,
-- so a token's few events cost a granule of some 60 columns per (client, hour) they were seen in:
-- about 50 ms of CPU at 10M events for the page and the lifecycle, 17 ms for the summary and 16 ms
-- per level of the delegation walk (bench/README.md, "The token timeline as a point read").
--
-- token_timeline holds every event that names a token, filed under that key (timeline_key): under
-- its token_key, and under its subject_token_key (an RFC 8693 exchange, filed under both tokens),
-- sorted by (tenant, timeline_key, occurred_at, event_id) in granules of 256 rows, with a Bloom
-- filter on the key (a point read then skips the parts that do not hold it). A token's events are
-- a point read of a granule: the page of presentations, the lifecycle, the summary and the
-- delegation walk read them here. Events with no token key (authorization requests) are not
-- filed.
--
-- The columns the queries filter, sort and group on are columns; the rest of the event is one
-- column, `event`: the columns the API shows (STORED_EVENT_COLUMNS in src/events/event-row.ts) as
-- the JSONEachRow row a query of them gives, written once here. Each column of each part a query
-- reads has a cost of its own: the 61 columns of a point read cost 27 ms of CPU, the one JSON
-- column 8 ms (measured at 10M events). The readers parse it (src/storage/token-timeline.ts),
-- taking occurred_at and received_at from their columns and 64-bit integers as numbers whatever
-- the JSON settings of the session that wrote it. ZSTD: the JSON text compresses well, and is
-- read a granule at a time.
--
-- Parts under 64 MiB are Compact (as `events`' since 0012): a consumer's insert writes a few
-- files here, not a few per column.
--
-- Exactly once as in `events`: ReplacingMergeTree on a sorting key that ends in event_id, so an
-- event stored twice (a redelivery, or the view and the backfill both) collapses on a merge, and
-- until then the readers take one row per event (LIMIT 1 BY event_id, uniqExact(event_id)), as
-- they did on `events`.
CREATE TABLE IF NOT EXISTS {{db}}.token_timeline {{on_cluster}}
(
    tenant LowCardinality(String),
    timeline_key String,
    occurred_at DateTime64(3, 'UTC'),
    event_id UUID,
    event_type LowCardinality(String),
    token_key String,
    subject_token_key String,
    resource String,
    resource_canonical String,
    decision LowCardinality(String),
    received_at DateTime64(3, 'UTC'),
    event String CODEC(ZSTD(3)),
    INDEX idx_timeline_key timeline_key TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = {{replicated}}ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant, timeline_key, occurred_at, event_id)
TTL {{ttl.token_timeline}}
SETTINGS index_granularity = 256, min_bytes_for_wide_part = 67108864{{dedup_window}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.token_timeline_mv {{on_cluster}}
TO {{db}}.token_timeline
AS SELECT
    tenant,
    key AS timeline_key,
    occurred_at,
    event_id,
    event_type,
    token_key,
    subject_token_key,
    resource,
    resource_canonical,
    decision,
    received_at,
    formatRowNoNewline(
        'JSONEachRow',
        tenant, event_id, event_type, occurred_at, received_at, source_kind, source_id, issuer,
        client_id, subject, session_id, token_key, token_jti, token_fingerprint, token_iat,
        token_exp, token_aud, token_scopes, token_format, network_ip, network_user_agent,
        grant_type, requested_resources, requested_scopes, granted_aud, granted_scopes, resource,
        resource_canonical, presented_aud, aud_match, aud_validated, decision, reason, tool_method,
        tool_name, tool_header_method, tool_header_name, http_method, http_path, http_status,
        subject_token_key, subject_token_jti, subject_token_fingerprint, actor_subject,
        actor_client_id, actor_token_jti, actor_token_fingerprint, attributes, token_cnf_jkt,
        token_cnf_x5t, proof_scheme, proof_verdict, proof_failure, proof_jti, proof_iat, proof_htm,
        proof_htu, proof_ath, proof_alg, proof_jkt, proof_cert_x5t
    ) AS event
FROM
(
    -- Each event under its own key and under its subject token's key (an exchange), once each.
    SELECT *, arrayJoin(arrayDistinct(arrayFilter(k -> k != '', [token_key, subject_token_key]))) AS key
    FROM {{db}}.events
);

-- The events stored before this migration. After the view, so an event inserted in between is
-- filed twice (which collapses, and the readers take once) rather than not at all; emptied
-- first, so that a migration that failed part way and runs again starts over.
TRUNCATE TABLE IF EXISTS {{db}}.token_timeline {{on_cluster}};

INSERT INTO {{db}}.token_timeline
SELECT
    tenant,
    key AS timeline_key,
    occurred_at,
    event_id,
    event_type,
    token_key,
    subject_token_key,
    resource,
    resource_canonical,
    decision,
    received_at,
    formatRowNoNewline(
        'JSONEachRow',
        tenant, event_id, event_type, occurred_at, received_at, source_kind, source_id, issuer,
        client_id, subject, session_id, token_key, token_jti, token_fingerprint, token_iat,
        token_exp, token_aud, token_scopes, token_format, network_ip, network_user_agent,
        grant_type, requested_resources, requested_scopes, granted_aud, granted_scopes, resource,
        resource_canonical, presented_aud, aud_match, aud_validated, decision, reason, tool_method,
        tool_name, tool_header_method, tool_header_name, http_method, http_path, http_status,
        subject_token_key, subject_token_jti, subject_token_fingerprint, actor_subject,
        actor_client_id, actor_token_jti, actor_token_fingerprint, attributes, token_cnf_jkt,
        token_cnf_x5t, proof_scheme, proof_verdict, proof_failure, proof_jti, proof_iat, proof_htm,
        proof_htu, proof_ath, proof_alg, proof_jkt, proof_cert_x5t
    ) AS event
FROM
(
    -- Each event under its own key and under its subject token's key (an exchange), once each.
    SELECT *, arrayJoin(arrayDistinct(arrayFilter(k -> k != '', [token_key, subject_token_key]))) AS key
    FROM {{db}}.events
);
