-- Tamper evidence (issue 29, docs/integrity.md): every event stored by a chaining writer carries
-- its link in a hash chain per tenant and chain (a Kafka partition or an HTTP writer, for one
-- run of the process). The link is in the row itself, written by the same insert as the event,
-- so an event is never stored without its link, and a journaled insert sent again carries the
-- very same link (exactly-once, section 3). Rows stored before this migration, or by a writer
-- without chaining, keep chain_id = '' and are reported as unchained by `audtrail verify`.
--   chain_seq:  1, 2, 3, ... within (tenant, chain_id)
--   chain_prev: the previous link's chain_hash (64 zeros for the first)
--   chain_hash: SHA-256 over the chain id, position, previous hash and the event's canonical digest
ALTER TABLE {{db}}.events {{on_cluster}}
    ADD COLUMN IF NOT EXISTS chain_id LowCardinality(String),
    ADD COLUMN IF NOT EXISTS chain_seq UInt64,
    ADD COLUMN IF NOT EXISTS chain_prev String,
    ADD COLUMN IF NOT EXISTS chain_hash String;
-- Signed checkpoints: the heads of one writer's chains of one tenant, every N events or T
-- seconds, each a JWS (EdDSA) over a signed-note text. Copies go to a file or webhook outside
-- audtrail's control when configured: a deleted tail of events, or a deleted checkpoint, is then
-- seen against the copy. Kept as long as the events (the TTL of `events` is not applied here:
-- a checkpoint outliving its events reads as truncation, which it is).
CREATE TABLE IF NOT EXISTS {{db}}.integrity_checkpoints {{on_cluster}}
(
    tenant LowCardinality(String),
    writer String,
    seq UInt64,
    issued_at DateTime64(3, 'UTC'),
    jws String
)
ENGINE = {{replicated}}ReplacingMergeTree
ORDER BY (tenant, writer, seq);
