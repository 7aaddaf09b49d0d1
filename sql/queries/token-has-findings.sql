-- Whether any finding of one tenant names this token key (any stored version of it): keyed on it,
-- or with evidence that names it ({token_json}: the key as JSON text, quoted). The token timeline
-- asks this first and runs findings-list only when it does: most tokens have no finding, and this
-- costs a fraction of the list's join with the tenant's triage.
SELECT 1 AS found
FROM {{db}}.findings
WHERE tenant = {tenant:String}
  AND (token_key = {token:String} OR position(evidence, {token_json:String}) > 0)
LIMIT 1
