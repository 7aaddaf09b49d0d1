-- Sender-constrained coverage of one tenant over [since, until) of occurred_at (issue 27): per
-- client and per resource, the distinct tokens issued and presented and how many of them were
-- bound (a `cnf` with a DPoP `jkt` or a certificate `x5t#S256`), and the accepted presentations
-- and how many of them proved possession (`proof_verdict = 'valid'`). One row per (dimension,
-- name): dimension `client` names a client id, `resource` a canonical resource (issuances count
-- under each granted audience). FINAL: an event stored twice counts once.
WITH scoped AS
(
    SELECT
        client_id,
        event_type,
        token_key,
        decision,
        proof_verdict,
        (token_cnf_jkt != '' OR token_cnf_x5t != '') AS bound,
        if(event_type = 'token.presented', [resource_canonical],
           if(length(granted_aud_canonical) > 0, granted_aud_canonical, token_aud_canonical)) AS resources
    FROM {{db}}.events FINAL
    WHERE tenant = {tenant:String}
      AND occurred_at >= {since:DateTime64(3, 'UTC')}
      AND occurred_at < {until:DateTime64(3, 'UTC')}
      AND token_key != ''
      AND event_type IN ('token.issued', 'token.exchanged', 'token.presented')
)
SELECT dimension, name, tokens, bound_tokens, presentations, proven_presentations
FROM
(
    SELECT
        'client' AS dimension,
        client_id AS name,
        uniqExact(token_key) AS tokens,
        uniqExactIf(token_key, bound) AS bound_tokens,
        countIf(event_type = 'token.presented' AND decision = 'accepted') AS presentations,
        countIf(event_type = 'token.presented' AND decision = 'accepted' AND proof_verdict = 'valid') AS proven_presentations
    FROM scoped
    WHERE client_id != ''
    GROUP BY client_id
    UNION ALL
    SELECT
        'resource' AS dimension,
        resource AS name,
        uniqExact(token_key) AS tokens,
        uniqExactIf(token_key, bound) AS bound_tokens,
        countIf(event_type = 'token.presented' AND decision = 'accepted') AS presentations,
        countIf(event_type = 'token.presented' AND decision = 'accepted' AND proof_verdict = 'valid') AS proven_presentations
    FROM scoped
    ARRAY JOIN resources AS resource
    WHERE resource != ''
    GROUP BY resource
)
ORDER BY dimension, name
LIMIT {max_rows:UInt32}
