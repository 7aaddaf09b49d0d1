-- The exceptions of one tenant that were not deleted, with whether they are still in force.
SELECT exception_id AS id, rule_id, match, owner, reason, created_at, expires_at,
       toBool(expires_at > now64(3)) AS active
FROM {{db}}.exceptions FINAL
WHERE tenant = {tenant:String} AND NOT deleted
  AND ({id:String} = '' OR exception_id = {id:String})
ORDER BY created_at DESC
LIMIT 1000
