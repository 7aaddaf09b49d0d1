-- Placeholder on branch report30m only: migration 0019 is reserved for another branch this
-- session (0018 timeline, 0019 usage) and the versions must be contiguous. The merger drops this
-- file for that branch's own migration.
SELECT 1;
