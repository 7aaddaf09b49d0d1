-- Every event of one token in one tenant, oldest first (issuance, presentations, exchanges).
SELECT *
FROM {{db}}.events FINAL
WHERE tenant = {tenant:String} AND (token_key = {key:String} OR subject_token_key = {key:String})
ORDER BY occurred_at, event_id
LIMIT 10000
