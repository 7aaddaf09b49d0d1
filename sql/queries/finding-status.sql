-- A finding with its triage: a resolved finding that occurred again after its triage is open.
SELECT
    f.finding_id AS finding_id,
    f.rule_id AS rule_id,
    f.count AS count,
    f.last_seen AS last_seen,
    if(t.status = '', 'open',
       if(t.status = 'resolved' AND f.last_seen > t.updated_at, 'open', t.status)) AS status,
    t.note AS note,
    t.assignee AS assignee
FROM {{db}}.findings AS f FINAL
LEFT JOIN (SELECT * FROM {{db}}.finding_triage FINAL) AS t
    ON t.tenant = f.tenant AND t.finding_id = f.finding_id
WHERE f.tenant = {tenant:String} AND f.finding_id = {id:String}
SETTINGS join_use_nulls = 0
