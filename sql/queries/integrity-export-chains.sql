-- The chains of a tenant's events received in a period (`audtrail export events`,
-- docs/integrity.md#exporting-with-integrity): each chain id with the first and last position
-- received in [since, until) and its row count; chain_id '' counts the unchained rows, which an
-- export cannot vouch for. Positions follow received_at within a chain (one writer, commit order),
-- so a chain's rows of the period are one run of positions.
SELECT chain_id, min(chain_seq) AS first_seq, max(chain_seq) AS last_seq, count() AS rows
FROM {{db}}.events
WHERE tenant = {tenant:String}
  AND received_at >= {since:DateTime64(3, 'UTC')}
  AND received_at < {until:DateTime64(3, 'UTC')}
GROUP BY chain_id
ORDER BY chain_id
