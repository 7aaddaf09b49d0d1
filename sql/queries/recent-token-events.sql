-- The events token state is rebuilt from (the detector at start, a replaced validation worker):
-- the newest {limit} of those received since {since} with a token, oldest first, and only the
-- columns the token state reads (TOKEN_STATE_COLUMNS in src/detection/token-state.ts).
SELECT
    tenant,
    token_key,
    event_id,
    event_type,
    occurred_at,
    client_id,
    decision,
    token_exp,
    token_aud_canonical,
    granted_aud_canonical,
    presented_aud_canonical,
    resource_canonical,
    network_ip,
    network_user_agent,
    token_scopes,
    granted_scopes,
    subject_token_key,
    attributes,
    proof_jti,
    source_id
FROM
(
    SELECT *
    FROM {{db}}.events FINAL
    WHERE received_at >= {since:DateTime64(3, 'UTC')} AND token_key != ''
    ORDER BY occurred_at DESC
    LIMIT {limit:UInt32}
)
ORDER BY occurred_at
