-- sender-binding-dropped: a client whose tokens were sender-constrained (a `cnf` with a DPoP
-- `jkt` or a certificate `x5t#S256`) gets or uses an unbound token, for clients with such an
-- event received in [from, to). Bound before means: at least {min_bound:UInt32} distinct bound
-- tokens of the client, and none unbound, in the {lookback_s} before its first unbound one.
-- Issuance (token.issued, token.exchanged) and accepted presentations both count.
WITH unbound AS
(
    SELECT
        tenant,
        client_id,
        min(occurred_at) AS first_unbound,
        max(occurred_at) AS last_unbound,
        uniqExact(token_key) AS unbound_tokens,
        arraySlice(arraySort(groupArray((occurred_at, toString(event_id)))), 1, 5) AS unbound_ids,
        groupUniqArray(8)(resource_canonical) AS resources
    FROM {{db}}.events FINAL
    WHERE received_at >= {from:DateTime64(3, 'UTC')}
      AND received_at < {to:DateTime64(3, 'UTC')}
      AND client_id != ''
      AND token_key != ''
      AND token_cnf_jkt = ''
      AND token_cnf_x5t = ''
      AND (event_type IN ('token.issued', 'token.exchanged')
           OR (event_type = 'token.presented' AND decision = 'accepted'))
    GROUP BY tenant, client_id
),
history AS
(
    SELECT
        e.tenant AS tenant,
        e.client_id AS client_id,
        uniqExactIf(e.token_key, e.token_cnf_jkt != '' OR e.token_cnf_x5t != '') AS bound_tokens,
        uniqExactIf(e.token_key, e.token_cnf_jkt = '' AND e.token_cnf_x5t = '') AS unbound_before,
        anyLast(if(e.token_cnf_jkt != '', 'dpop', if(e.token_cnf_x5t != '', 'mtls', ''))) AS binding,
        arraySlice(arrayReverseSort(groupArrayIf((e.occurred_at, toString(e.event_id)), e.token_cnf_jkt != '' OR e.token_cnf_x5t != '')), 1, 3) AS bound_ids
    FROM {{db}}.events AS e FINAL
    INNER JOIN unbound AS u ON u.tenant = e.tenant AND u.client_id = e.client_id
    WHERE e.received_at < {to:DateTime64(3, 'UTC')}
      AND e.occurred_at >= u.first_unbound - toIntervalSecond({lookback_s:UInt32})
      AND e.occurred_at < u.first_unbound
      AND e.token_key != ''
      AND (e.event_type IN ('token.issued', 'token.exchanged')
           OR (e.event_type = 'token.presented' AND e.decision = 'accepted'))
    GROUP BY e.tenant, e.client_id
)
SELECT
    u.tenant AS tenant,
    u.client_id AS client_id,
    h.bound_tokens AS bound_tokens,
    h.binding AS binding,
    u.unbound_tokens AS unbound_tokens,
    u.resources AS resources,
    u.first_unbound AS first_unbound,
    u.last_unbound AS last_unbound,
    arrayConcat(arrayMap(x -> x.2, arrayReverse(h.bound_ids)), arrayMap(x -> x.2, u.unbound_ids)) AS event_ids
FROM unbound AS u
INNER JOIN history AS h ON h.tenant = u.tenant AND h.client_id = u.client_id
WHERE h.bound_tokens >= {min_bound:UInt32}
  AND h.unbound_before = 0
ORDER BY tenant, client_id
LIMIT {max_results:UInt32}
