-- The triage changes of one finding of one tenant, oldest first (at most {limit} of the newest).
SELECT at, by, field, from_value, to_value
FROM (
    SELECT at, change_id, by, field, from_value, to_value
    FROM {{db}}.finding_triage_history FINAL
    WHERE tenant = {tenant:String} AND finding_id = {id:String}
    ORDER BY at DESC, change_id DESC
    LIMIT {limit:UInt32}
)
ORDER BY at ASC, change_id ASC
