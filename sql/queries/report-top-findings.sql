-- The most severe open or acknowledged findings of each rule with an occurrence in
-- [since, until): up to {per_rule} per rule, so that every control of a report can name its few
-- most severe findings even when the report's capped list (report-findings.sql) is filled by
-- other rules. Triage as in report-findings (a resolved finding seen again reads as open).
SELECT
    f.finding_id AS id,
    f.rule_id AS rule_id,
    f.severity AS severity,
    f.title AS title,
    if(t.status = '', 'open', if(t.status = 'resolved' AND f.last_seen > t.updated_at, 'open', t.status)) AS status,
    f.keys AS keys,
    f.first_seen AS first_seen,
    f.last_seen AS last_seen,
    f.count AS count,
    o.occurrences AS period_occurrences,
    o.period_first AS period_first_seen,
    o.period_last AS period_last_seen
FROM
(
    SELECT finding_id, uniqExact(occurrence_id) AS occurrences, min(at) AS period_first, max(at) AS period_last
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
WHERE status IN ('open', 'acknowledged')
ORDER BY multiIf(f.severity = 'critical', 4, f.severity = 'high', 3, f.severity = 'medium', 2, 1) DESC,
    o.period_last DESC, f.finding_id
LIMIT {per_rule:UInt32} BY f.rule_id
SETTINGS join_use_nulls = 0
