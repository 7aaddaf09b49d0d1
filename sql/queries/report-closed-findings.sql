-- Findings of one tenant with an occurrence in [since, until) that are closed (resolved and not
-- seen again since, or false_positive), with who closed them, when and the note: the triage as of
-- now (finding_triage keeps the latest change per finding).
SELECT
    f.finding_id AS id,
    f.rule_id AS rule_id,
    f.severity AS severity,
    f.title AS title,
    t.status AS status,
    t.updated_by AS closed_by,
    t.updated_at AS closed_at,
    t.note AS note
FROM
(
    SELECT DISTINCT finding_id
    FROM {{db}}.finding_occurrences
    WHERE tenant = {tenant:String}
      AND at >= {since:DateTime64(3, 'UTC')}
      AND at < {until:DateTime64(3, 'UTC')}
) AS o
INNER JOIN (SELECT * FROM {{db}}.findings FINAL WHERE tenant = {tenant:String}) AS f
    ON f.finding_id = o.finding_id
INNER JOIN (
    SELECT * FROM {{db}}.finding_triage FINAL
    WHERE tenant = {tenant:String} AND status IN ('resolved', 'false_positive')
) AS t ON t.finding_id = f.finding_id
WHERE NOT (t.status = 'resolved' AND f.last_seen > t.updated_at)
ORDER BY t.updated_at DESC, f.finding_id
LIMIT {limit:UInt32}
SETTINGS join_use_nulls = 0
