-- client_usage_daily counted the empty token key of an event without a token (an authorization
-- request without one, a presentation turned away with reason missing_token) as one more
-- distinct token of its group. The view now counts real token keys only, as client_activity_daily
-- does. Days stored before keep their count: at most one too many per day, client, resource,
-- event type and decision that had a token-less event (rebuilding the rollup would need consume
-- and detect stopped while it runs, which an upgrade should not demand for this).
ALTER TABLE {{db}}.client_usage_daily_mv {{on_cluster}}
MODIFY QUERY
SELECT
    tenant,
    toDate(occurred_at) AS day,
    client_id,
    res AS resource_canonical,
    event_type,
    decision,
    toUInt64(count()) AS events,
    uniqStateIf(token_key, token_key != '') AS tokens,
    min(occurred_at) AS first_seen,
    max(occurred_at) AS last_seen
FROM
(
    -- A subquery, so that the output names above do not shadow the events columns used here.
    -- The resource of an event: the RS's own for presentations, else the granted audiences,
    -- else the requested resources, else '' (a request without a resource indicator).
    SELECT
        tenant,
        occurred_at,
        client_id,
        event_type,
        decision,
        token_key,
        arrayJoin(if(
            event_type = 'token.presented',
            [resource_canonical],
            if(empty(granted_aud_canonical), if(empty(requested_resources_canonical), [''], requested_resources_canonical), granted_aud_canonical)
        )) AS res
    FROM {{db}}.events
    WHERE client_id != ''
)
GROUP BY tenant, day, client_id, resource_canonical, event_type, decision;
