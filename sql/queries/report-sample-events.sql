-- Sample events of the findings of the given rules in [since, until), for a report's failing
-- controls: up to {per_rule} occurrences per rule whose occurrence id is an event id, the most
-- severe and most recent first, and the fields of those events that an auditor needs (never a
-- token: token_key is audtrail's derived key, jti or fingerprint).
WITH picked AS
(
    SELECT f.rule_id AS rule_id, o.finding_id AS finding_id, toUUIDOrZero(o.occurrence_id) AS event_id,
        o.at AS at, f.rank AS rank
    FROM
    (
        SELECT finding_id, occurrence_id, at
        FROM {{db}}.finding_occurrences
        WHERE tenant = {tenant:String}
          AND at >= {since:DateTime64(3, 'UTC')}
          AND at < {until:DateTime64(3, 'UTC')}
    ) AS o
    INNER JOIN
    (
        SELECT finding_id, rule_id,
            multiIf(severity = 'critical', 4, severity = 'high', 3, severity = 'medium', 2, 1) AS rank
        FROM {{db}}.findings FINAL
        WHERE tenant = {tenant:String} AND rule_id IN {rules:Array(String)}
    ) AS f ON f.finding_id = o.finding_id
    WHERE event_id != toUUID('00000000-0000-0000-0000-000000000000')
    ORDER BY rank DESC, at DESC, o.finding_id, o.occurrence_id
    LIMIT {per_rule:UInt32} BY rule_id
)
SELECT
    p.rule_id AS rule_id,
    p.finding_id AS finding_id,
    toString(e.event_id) AS event_id,
    e.event_type AS event_type,
    e.occurred_at AS occurred_at,
    e.source_kind AS source_kind,
    e.source_id AS source_id,
    e.client_id AS client_id,
    e.token_key AS token_key,
    e.resource_canonical AS resource,
    e.presented_aud_canonical AS presented_aud,
    e.requested_resources_canonical AS requested_resources,
    e.granted_aud_canonical AS granted_aud,
    e.aud_match AS aud_match,
    e.aud_validated AS aud_validated,
    e.decision AS decision,
    e.reason AS reason,
    e.tool_method AS tool_method,
    e.tool_name AS tool_name,
    e.http_status AS http_status
FROM picked AS p
INNER JOIN
(
    SELECT *
    FROM {{db}}.events
    WHERE tenant = {tenant:String}
      AND event_id IN (SELECT event_id FROM picked)
    LIMIT 1 BY event_id
) AS e ON e.event_id = p.event_id
ORDER BY p.rule_id, p.rank DESC, e.occurred_at DESC, event_id
SETTINGS join_use_nulls = 0
