-- Findings of one tenant with their triage, newest first, keyset-paginated on (last_seen, id).
SELECT
    f.finding_id AS id,
    f.rule_id AS rule_id,
    f.severity AS severity,
    f.title AS title,
    if(t.status = '', 'open', if(t.status = 'resolved' AND f.last_seen > t.updated_at, 'open', t.status)) AS status,
    f.tenant AS tenant,
    f.first_seen AS first_seen,
    f.last_seen AS last_seen,
    f.count AS count,
    f.keys AS keys,
    f.evidence AS evidence,
    f.mappings AS mappings,
    t.note AS note,
    t.assignee AS assignee
FROM {{db}}.findings AS f FINAL
LEFT JOIN (SELECT * FROM {{db}}.finding_triage FINAL WHERE tenant = {tenant:String}) AS t
    ON t.finding_id = f.finding_id
WHERE f.tenant = {tenant:String}
  AND ({id:String} = '' OR f.finding_id = {id:String})
  AND ({rule:String} = '' OR f.rule_id = {rule:String})
  AND ({severity:String} = '' OR f.severity = {severity:String})
  AND ({resource:String} = '' OR f.resource = {resource:String})
  AND ({client:String} = '' OR f.client_id = {client:String})
  AND ({token:String} = '' OR f.token_key = {token:String})
  AND f.last_seen >= {since:DateTime64(3, 'UTC')}
  AND f.last_seen < {until:DateTime64(3, 'UTC')}
  AND ({cursor_id:String} = '' OR (f.last_seen, f.finding_id) < ({cursor_seen:DateTime64(3, 'UTC')}, {cursor_id:String}))
  AND ({status:String} = '' OR status = {status:String})
ORDER BY f.last_seen DESC, f.finding_id DESC
LIMIT {limit:UInt32}
SETTINGS join_use_nulls = 0
