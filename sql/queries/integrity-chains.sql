-- The chains of a tenant's stored events (docs/integrity.md): each chain id with its row count and
-- highest position; chain_id '' counts the unchained rows (stored before migration 0015, by a
-- writer without chaining, or inserted by hand).
SELECT chain_id, count() AS rows, max(chain_seq) AS last_seq
FROM {{db}}.events
WHERE tenant = {tenant:String}
GROUP BY chain_id
ORDER BY chain_id
