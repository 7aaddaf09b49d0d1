-- Whether any finding of one tenant names this token key (any stored version of it). The token
-- timeline asks this first and runs findings-list only when it does: most tokens have no finding,
-- and this costs a quarter of the list's join with the tenant's triage (about 3.5 ms against
-- 9.5 ms of engine time over 10k findings).
SELECT 1 AS found
FROM {{db}}.findings
WHERE tenant = {tenant:String} AND token_key = {token:String}
LIMIT 1
