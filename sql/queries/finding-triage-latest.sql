-- Who last triaged each of these findings of one tenant, and when (findings never triaged have
-- no row).
SELECT finding_id, updated_by, updated_at
FROM {{db}}.finding_triage FINAL
WHERE tenant = {tenant:String} AND finding_id IN {ids:Array(String)}
