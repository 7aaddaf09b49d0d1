-- Exceptions in force: not deleted and not yet expired.
SELECT tenant, exception_id, rule_id, match, owner, reason, created_at, expires_at
FROM {{db}}.exceptions FINAL
WHERE NOT deleted AND expires_at > now64(3)
