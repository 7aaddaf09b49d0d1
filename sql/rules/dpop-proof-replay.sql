-- dpop-proof-replay: one DPoP proof (its `jti`, fingerprinted by the collectors) presented in two
-- or more requests, for proofs with a presentation received in [from, to). RFC 9449 11.1: a proof
-- is single-use within its acceptance window, which a fleet of stateless servers cannot enforce
-- alone; the central audit sees every server's presentations. Presentations count when they fall
-- within {window_s} of the proof's first presentation (never of its `iat`, which the client writes).
WITH window_proofs AS
(
    SELECT DISTINCT tenant, proof_jti
    FROM {{db}}.events FINAL
    WHERE received_at >= {from:DateTime64(3, 'UTC')}
      AND received_at < {to:DateTime64(3, 'UTC')}
      AND event_type = 'token.presented'
      AND proof_scheme = 'DPoP'
      AND proof_jti != ''
),
uses AS
(
    SELECT
        tenant,
        proof_jti,
        event_id,
        occurred_at,
        token_key,
        client_id,
        source_id,
        resource_canonical,
        network_ip,
        decision
    FROM {{db}}.events FINAL
    WHERE received_at < {to:DateTime64(3, 'UTC')}
      AND occurred_at >= {from:DateTime64(3, 'UTC')} - toIntervalSecond({lookback_s:UInt32})
      AND event_type = 'token.presented'
      AND proof_jti != ''
      AND (tenant, proof_jti) IN (SELECT tenant, proof_jti FROM window_proofs)
)
SELECT
    tenant,
    proof_jti,
    any(token_key) AS token_key,
    any(client_id) AS client_id,
    groupArray(toUnixTimestamp(occurred_at)) AS times,
    groupArray(decision = 'accepted') AS accepts,
    arrayMin(times) AS first_s,
    length(arrayFilter(t -> t <= first_s + {window_s:UInt32}, times)) AS presentations,
    length(arrayFilter((t, a) -> a AND t <= first_s + {window_s:UInt32}, times, accepts)) AS accepted,
    groupUniqArray(16)(source_id) AS sources,
    groupUniqArray(16)(resource_canonical) AS resources,
    groupUniqArray(16)(network_ip) AS ips,
    arrayMap(x -> x.2, arraySlice(arraySort(groupArray((occurred_at, toString(event_id)))), 1, 10)) AS event_ids,
    min(occurred_at) AS first_occurred,
    max(occurred_at) AS last_occurred
FROM uses
GROUP BY tenant, proof_jti
HAVING presentations >= 2
ORDER BY tenant, proof_jti
LIMIT {max_results:UInt32}
