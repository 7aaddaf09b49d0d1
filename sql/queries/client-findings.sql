-- The findings of one tenant about the given clients last seen since the start of the UTC day of
-- {since} (the days the usage covers), per client: all of them and the open ones (the triage
-- status of findings-list.sql: untriaged, set to open, or resolved and seen again since). For one
-- page of /v1/clients.
SELECT
    f.client_id AS client_id,
    count() AS findings,
    countIf(if(t.status = '', 'open', if(t.status = 'resolved' AND f.last_seen > t.updated_at, 'open', t.status)) = 'open') AS open_findings
FROM {{db}}.findings AS f FINAL
LEFT JOIN (SELECT * FROM {{db}}.finding_triage FINAL WHERE tenant = {tenant:String}) AS t
    ON t.finding_id = f.finding_id
WHERE f.tenant = {tenant:String}
  AND f.client_id IN {clients:Array(String)}
  AND f.last_seen >= toStartOfDay({since:DateTime64(3, 'UTC')})
GROUP BY f.client_id
SETTINGS join_use_nulls = 0
