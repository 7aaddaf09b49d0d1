-- Per-client usage of one tenant: resources, events, distinct tokens, decisions.
SELECT
    u.client_id AS client_id,
    groupUniqArrayIf(u.resource_canonical, u.resource_canonical != '') AS resources,
    sum(u.events) AS events,
    uniqMerge(u.tokens) AS tokens,
    sumIf(u.events, u.event_type = 'token.presented' AND u.decision = 'rejected') AS rejected,
    min(u.first_seen) AS first_seen,
    max(u.last_seen) AS last_seen
FROM {{db}}.client_usage_daily AS u
WHERE tenant = {tenant:String} AND day >= toDate({since:DateTime64(3, 'UTC')})
GROUP BY u.client_id
ORDER BY u.client_id
LIMIT {limit:UInt32}
