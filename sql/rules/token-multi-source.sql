-- token-multi-source: token keys presented from several networks within one hopping window
-- ({hop_ms} apart, twice as long), for every window that holds an event received in [from, to).
-- A network is an address cut to a prefix (IPv4 /24, IPv6 /56 by default). The token's holder is
-- its client and subject (a client-credentials token: the client's fleet; a user's token: that
-- user at that client); a network is usual for the holder when the holder used it, with any
-- token, before the window began (within {learn_s} before the run). A window is a finding when
-- one of its networks is new to the holder and it holds at least {min_sources} networks, or
-- {min_sources_new_holder} when the holder has no usual network yet (day one).
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
        any(subject) AS subject,
        groupUniqArray(64)(cutIPv6(toIPv6OrDefault(network_ip), {ipv6_cut:UInt8}, {ipv4_cut:UInt8})) AS nets,
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
       AND length(nets) >= least({min_sources:UInt32}, {min_sources_new_holder:UInt32})
),
-- When each holder of a window first used each network, within the learning period.
holder_nets AS
(
    SELECT
        tenant,
        client_id,
        subject,
        cutIPv6(toIPv6OrDefault(network_ip), {ipv6_cut:UInt8}, {ipv4_cut:UInt8}) AS net,
        min(occurred_at) AS first_used
    FROM {{db}}.events FINAL
    WHERE received_at < {to:DateTime64(3, 'UTC')}
      AND occurred_at >= {from:DateTime64(3, 'UTC')} - toIntervalSecond({lookback_s:UInt32} + {learn_s:UInt32})
      AND event_type = 'token.presented'
      AND network_ip != ''
      -- (tenant, client_id) leads the sorting key of events: the first IN prunes by index.
      AND (tenant, client_id) IN (SELECT tenant, client_id FROM windows)
      AND (tenant, client_id, subject) IN (SELECT tenant, client_id, subject FROM windows)
    GROUP BY tenant, client_id, subject, net
),
holders AS
(
    SELECT
        tenant,
        client_id,
        subject,
        groupArray(net) AS known_nets,
        groupArray(toUnixTimestamp64Milli(first_used)) AS known_since
    FROM holder_nets
    GROUP BY tenant, client_id, subject
),
judged AS
(
    SELECT
        w.tenant AS tenant,
        w.token_key AS token_key,
        w.client_id AS client_id,
        w.k * {hop_ms:UInt64} AS window_start,
        -- Networks of the holder in use before this window began.
        arrayFilter((n, t) -> t < window_start, h.known_nets, h.known_since) AS usual,
        arrayFilter(n -> NOT has(usual, n), w.nets) AS new_nets,
        length(w.nets) AS sources,
        length(usual) AS usual_count,
        w.ips AS ips,
        w.resources AS resources,
        w.event_ids AS event_ids,
        w.first_occurred AS first_occurred,
        w.last_occurred AS last_occurred
    FROM windows AS w
    LEFT JOIN holders AS h ON h.tenant = w.tenant AND h.client_id = w.client_id AND h.subject = w.subject
    WHERE length(new_nets) >= 1
      AND sources >= if(usual_count = 0, {min_sources_new_holder:UInt32}, {min_sources:UInt32})
)
SELECT
    tenant,
    token_key,
    any(client_id) AS client_id,
    max(sources) AS max_sources,
    argMax(length(new_nets), sources) AS new_sources,
    argMax(usual_count, sources) AS usual_networks,
    argMax(ips, sources) AS ips,
    argMax(resources, sources) AS resources,
    argMax(event_ids, sources) AS event_ids,
    argMax(first_occurred, sources) AS first_occurred,
    argMax(last_occurred, sources) AS last_occurred
FROM judged
GROUP BY tenant, token_key
ORDER BY tenant, token_key
LIMIT {max_results:UInt32}
