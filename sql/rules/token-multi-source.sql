-- token-multi-source: token keys presented from several networks within one hopping window
-- ({hop_ms} apart, twice as long), for every window that holds an event received in [from, to).
-- A network is an address cut to a prefix (IPv4 /24, IPv6 /56 by default). The token's holder is
-- its client and subject (a client-credentials token: the client's fleet; a user's token: that
-- user at that client); a network is usual for the holder when the holder used it, with any
-- token, before the window began (within {learn_s} before the run). A window is a finding when
-- one of its networks is new to the holder and either it holds at least {min_sources} networks,
-- or the new network and a usual one were used in turn ({in_turn} = 1).
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
per_net AS
(
    SELECT
        tenant,
        token_key,
        k,
        cutIPv6(toIPv6OrDefault(network_ip), {ipv6_cut:UInt8}, {ipv4_cut:UInt8}) AS net,
        any(client_id) AS client_id,
        any(subject) AS subject,
        groupUniqArray(16)(network_ip) AS net_ips,
        groupUniqArray(16)(resource_canonical) AS net_resources,
        groupArray(5)(event_id) AS net_event_ids,
        min(occurred_at) AS net_first,
        max(occurred_at) AS net_last
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
    GROUP BY tenant, token_key, k, net
    HAVING (tenant, token_key, k) IN (SELECT tenant, token_key, k FROM candidates)
),
windows AS
(
    SELECT
        tenant,
        token_key,
        k,
        any(client_id) AS client_id,
        any(subject) AS subject,
        groupArray(net) AS nets,
        groupArray(toUnixTimestamp64Milli(net_first)) AS firsts,
        groupArray(toUnixTimestamp64Milli(net_last)) AS lasts,
        arraySort(arrayDistinct(arrayFlatten(groupArray(net_ips)))) AS ips,
        arrayDistinct(arrayFlatten(groupArray(net_resources))) AS resources,
        arraySlice(arrayFlatten(groupArray(net_event_ids)), 1, 10) AS event_ids,
        min(net_first) AS first_occurred,
        max(net_last) AS last_occurred
    FROM per_net
    GROUP BY tenant, token_key, k
    HAVING length(nets) >= 2
),
-- When each holder of a window first used each network with each token, within the learning
-- period.
holder_nets AS
(
    SELECT
        tenant,
        client_id,
        subject,
        cutIPv6(toIPv6OrDefault(network_ip), {ipv6_cut:UInt8}, {ipv4_cut:UInt8}) AS net,
        token_key,
        min(occurred_at) AS first_used
    FROM {{db}}.events FINAL
    WHERE received_at < {to:DateTime64(3, 'UTC')}
      AND occurred_at >= {from:DateTime64(3, 'UTC')} - toIntervalSecond({lookback_s:UInt32} + {learn_s:UInt32})
      AND event_type = 'token.presented'
      AND network_ip != ''
      -- (tenant, client_id) leads the sorting key of events: the first IN prunes by index.
      AND (tenant, client_id) IN (SELECT tenant, client_id FROM windows)
      AND (tenant, client_id, subject) IN (SELECT tenant, client_id, subject FROM windows)
    GROUP BY tenant, client_id, subject, net, token_key
),
holders AS
(
    SELECT
        tenant,
        client_id,
        subject,
        groupArray(net) AS known_nets,
        groupArray(toUnixTimestamp64Milli(first_used)) AS known_since,
        groupArray(token_key) AS known_tokens
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
        -- Networks of the holder in use before this window began, once the holder is established
        -- (first seen {established_ms} before it): a day-one user has no usual network yet (a
        -- new user on Wi-Fi and a phone takes turns). A client-credentials holder (the client is
        -- the subject, RFC 9068 §2.2) is a fleet whose every token comes from its egress: the
        -- networks its other tokens used before are usual from the first day on, so a day-one
        -- fleet across three zones makes at most its first token a finding, not one a token
        -- for a day (and its first token, across two, is judged as a day-one user's). Once the
        -- holder is established, every network it used before the window is usual.
        length(h.known_since) > 0 AND arrayMin(h.known_since) < window_start - {established_ms:UInt64} AS established,
        arrayDistinct(arrayFilter(
            (n, t, k) -> t < window_start AND (established OR (w.client_id = w.subject AND k != w.token_key)),
            h.known_nets, h.known_since, h.known_tokens)) AS usual,
        arrayFilter(n -> NOT has(usual, n), w.nets) AS new_nets,
        -- A new network and a usual one used in turn: each used both before the other's last use
        -- and after its first, by more than the tolerance (a move or a prefix change switches once).
        arrayExists(
            (n, f, l) -> NOT has(usual, n) AND arrayExists(
                (u, uf, ul) -> has(usual, u)
                    AND ul > f + {tolerance_ms:UInt64} AND l > uf + {tolerance_ms:UInt64},
                w.nets, w.firsts, w.lasts),
            w.nets, w.firsts, w.lasts) AS in_turn,
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
      AND (sources >= {min_sources:UInt32} OR (in_turn AND {in_turn:UInt8} = 1))
)
SELECT
    tenant,
    token_key,
    any(client_id) AS client_id,
    max(sources) AS max_sources,
    argMax(length(new_nets), sources) AS new_sources,
    argMax(usual_count, sources) AS usual_networks,
    max(in_turn) AS in_turn,
    argMax(ips, sources) AS ips,
    argMax(resources, sources) AS resources,
    argMax(event_ids, sources) AS event_ids,
    argMax(first_occurred, sources) AS first_occurred,
    argMax(last_occurred, sources) AS last_occurred
FROM judged
GROUP BY tenant, token_key
ORDER BY tenant, token_key
LIMIT {max_results:UInt32}
