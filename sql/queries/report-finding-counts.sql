-- How many findings of one tenant occurred in [since, until), per rule, severity and current
-- triage status (the same status as report-findings), for the report's status decisions.
SELECT
    f.rule_id AS rule_id,
    f.severity AS severity,
    if(t.status = '', 'open', if(t.status = 'resolved' AND f.last_seen > t.updated_at, 'open', t.status)) AS status,
    count() AS findings,
    sum(o.occurrences) AS occurrences
FROM
(
    SELECT finding_id, uniqExact(occurrence_id) AS occurrences
    FROM {{db}}.finding_occurrences
    WHERE tenant = {tenant:String}
      AND at >= {since:DateTime64(3, 'UTC')}
      AND at < {until:DateTime64(3, 'UTC')}
    GROUP BY finding_id
) AS o
INNER JOIN (SELECT * FROM {{db}}.findings FINAL WHERE tenant = {tenant:String}) AS f
    ON f.finding_id = o.finding_id
LEFT JOIN (SELECT * FROM {{db}}.finding_triage FINAL WHERE tenant = {tenant:String}) AS t
    ON t.finding_id = f.finding_id
GROUP BY rule_id, severity, status
ORDER BY rule_id, severity, status
SETTINGS join_use_nulls = 0
