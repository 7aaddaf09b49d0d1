-- Count, first and last occurrence and the highest severity of the given findings.
SELECT
    tenant,
    finding_id,
    uniqExact(occurrence_id) AS count,
    min(at) AS first_seen,
    max(at) AS last_seen,
    max(multiIf(severity = 'critical', 4, severity = 'high', 3, severity = 'medium', 2, 1)) AS severity_rank
FROM {{db}}.finding_occurrences
WHERE finding_id IN {ids:Array(String)}
GROUP BY tenant, finding_id
