-- Placeholder on branch report30m only: migration 0019 is reserved for another branch this
-- session (0018 timeline, 0019 usage) and the versions must be contiguous. The merger drops this
-- file for that branch's own migration. It sets what 0012 set (no change).
ALTER TABLE {{db}}.events {{on_cluster}} MODIFY SETTING min_bytes_for_wide_part = 67108864;
