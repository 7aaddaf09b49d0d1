-- Sender-constrained tokens (issue 27): the token's confirmation (RFC 7800 `cnf`: a DPoP key
-- thumbprint, RFC 9449 6.1, or a client certificate thumbprint, RFC 8705 3.1) and the proof of
-- possession a presentation came with (scheme, verdict, DPoP proof facts: its `jti` as a
-- fingerprint, never the proof). Older rows read '' and NULL: no confirmation, no proof recorded.
-- The bloom filter serves the proof replay rule (dpop-proof-replay), which looks proof ids up.
ALTER TABLE {{db}}.events {{on_cluster}}
    ADD COLUMN IF NOT EXISTS token_cnf_jkt String,
    ADD COLUMN IF NOT EXISTS token_cnf_x5t String,
    ADD COLUMN IF NOT EXISTS proof_scheme LowCardinality(String),
    ADD COLUMN IF NOT EXISTS proof_verdict LowCardinality(String),
    ADD COLUMN IF NOT EXISTS proof_failure LowCardinality(String),
    ADD COLUMN IF NOT EXISTS proof_jti String,
    ADD COLUMN IF NOT EXISTS proof_iat Nullable(Int64),
    ADD COLUMN IF NOT EXISTS proof_htm LowCardinality(String),
    ADD COLUMN IF NOT EXISTS proof_htu String,
    ADD COLUMN IF NOT EXISTS proof_ath LowCardinality(String),
    ADD COLUMN IF NOT EXISTS proof_alg LowCardinality(String),
    ADD COLUMN IF NOT EXISTS proof_jkt String,
    ADD COLUMN IF NOT EXISTS proof_cert_x5t String,
    ADD INDEX IF NOT EXISTS idx_proof_jti proof_jti TYPE bloom_filter(0.01) GRANULARITY 1;
