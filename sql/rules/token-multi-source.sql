-- token-multi-source: token keys presented from at least {min_sources} distinct networks within
-- one hopping window ({hop_ms} apart, twice as long), for every window that holds an event
-- received in [from, to). Networks are addresses cut to a prefix (IPv6 /64 by default).
WITH candidates AS
(
    SELECT DISTINCT tenant, token_key, k
    FROM {{db}}.events FINAL
    ARRAY JOIN [
        intDiv(toUnixTimestamp64Milli(occurred_at), {hop_ms:UInt64}),
        intDiv(toUnixTimestamp64Milli(occurred_at), {hop_ms:UInt64}) - 1
    ] AS k
    WHERE received_at >= {from:DateTime64(3, 'UTC')}
      AND received_at < {to:DateTime64(3, 'UTC')}
      AND event_type = 'token.presented'
      AND token_key != ''
      AND network_ip != ''
),
windows AS
(
    SELECT
        tenant,
        token_key,
        k,
        any(client_id) AS client_id,
        uniqExact(cutIPv6(toIPv6OrDefault(network_ip), {ipv6_cut:UInt8}, {ipv4_cut:UInt8})) AS sources,
        arraySort(groupUniqArray(64)(network_ip)) AS ips,
        groupUniqArray(64)(resource_canonical) AS resources,
        groupArray(10)(event_id) AS event_ids,
        min(occurred_at) AS first_occurred,
        max(occurred_at) AS last_occurred
    FROM {{db}}.events FINAL
    ARRAY JOIN [
        intDiv(toUnixTimestamp64Milli(occurred_at), {hop_ms:UInt64}),
        intDiv(toUnixTimestamp64Milli(occurred_at), {hop_ms:UInt64}) - 1
    ] AS k
    WHERE received_at < {to:DateTime64(3, 'UTC')}
      AND occurred_at >= {from:DateTime64(3, 'UTC')} - toIntervalSecond({lookback_s:UInt32})
      AND event_type = 'token.presented'
      AND network_ip != ''
      AND (tenant, token_key) IN (SELECT tenant, token_key FROM candidates)
    GROUP BY tenant, token_key, k
    HAVING (tenant, token_key, k) IN (SELECT tenant, token_key, k FROM candidates)
       AND sources >= {min_sources:UInt32}
)
SELECT
    tenant,
    token_key,
    any(w.client_id) AS client_id,
    max(w.sources) AS max_sources,
    argMax(w.ips, w.sources) AS ips,
    argMax(w.resources, w.sources) AS resources,
    argMax(w.event_ids, w.sources) AS event_ids,
    argMax(w.first_occurred, w.sources) AS first_occurred,
    argMax(w.last_occurred, w.sources) AS last_occurred
FROM windows AS w
GROUP BY tenant, token_key
ORDER BY tenant, token_key
LIMIT {max_results:UInt32}
