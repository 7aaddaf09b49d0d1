-- Evidence metrics of one tenant over [since, until) of occurred_at, in one scan of events (FINAL,
-- so a redelivered event counts once). Events are grouped per token key first, so the per-token
-- figures (audiences, lifetime, replay, expiry) come from the same pass as the per-event counts;
-- events without a token (authorization requests, missing_token presentations) share key ''.
-- Drift: the (drift key, raw spelling) pairs seen in any role; a key with two or more spellings.
SELECT * EXCEPT (all_spellings) FROM (
SELECT
    sum(t.events) AS events,
    sum(t.presentations) AS presentations,
    sum(t.accepted) AS accepted,
    sum(t.accepted_validated) AS accepted_validated,
    sum(t.accepted_mismatch) AS accepted_mismatches,
    sum(t.token_requests) AS token_requests,
    sum(t.token_requests_with_resource) AS token_requests_with_resource,
    sum(t.loggable) AS loggable_presentations,
    sum(t.complete) AS complete_presentations,
    sum(t.mcp_presentations) AS mcp_presentations,
    countIf(t.token_key != '' AND t.max_aud > 0) AS tokens_with_aud,
    countIf(t.token_key != '' AND t.max_aud > 1) AS multi_audience_tokens,
    countIf(t.token_key != '' AND t.resources >= 2 AND t.outside > 0) AS cross_audience_replays,
    countIf(t.token_key != '' AND t.exp IS NOT NULL AND t.last_accepted IS NOT NULL) AS accepted_tokens_with_exp,
    countIf(t.token_key != '' AND t.last_accepted - t.exp > {clock_skew_s:Int64}) AS expired_tokens_accepted,
    countIf(t.token_key != '' AND t.lifetime IS NOT NULL) AS tokens_with_lifetime,
    quantilesExactInclusiveIf(0.5, 0.95)(toFloat64(assumeNotNull(t.lifetime)), t.token_key != '' AND t.lifetime IS NOT NULL) AS lifetime_quantiles,
    arraySort(groupUniqArrayArray(t.spellings)) AS all_spellings,
    -- Sorted (drift key, raw) pairs: a key followed by itself has two or more raw spellings.
    arrayDistinct(arrayMap(x -> x.1, arrayFilter((p, q) -> p.1 = q.1,
        arrayPopBack(all_spellings), arrayPopFront(all_spellings)))) AS drifted_keys,
    arrayFilter(p -> has(drifted_keys, p.1), all_spellings) AS drifted_spellings
FROM
(
    SELECT
        token_key,
        count() AS events,
        countIf(event_type = 'token.presented') AS presentations,
        countIf(event_type = 'token.presented' AND decision = 'accepted') AS accepted,
        countIf(event_type = 'token.presented' AND decision = 'accepted' AND aud_validated = true) AS accepted_validated,
        countIf(event_type = 'token.presented' AND decision = 'accepted' AND aud_match = 'different') AS accepted_mismatch,
        countIf(event_type IN ('authorization.requested', 'token.issued', 'token.exchanged')) AS token_requests,
        countIf(event_type IN ('authorization.requested', 'token.issued', 'token.exchanged') AND notEmpty(requested_resources)) AS token_requests_with_resource,
        countIf(event_type = 'token.presented' AND reason != 'missing_token') AS loggable,
        countIf(event_type = 'token.presented' AND reason != 'missing_token' AND resource != '' AND notEmpty(presented_aud)
            AND (source_kind != 'mcp_server' OR (tool_method != '' AND (tool_method != 'tools/call' OR tool_name != '')))) AS complete,
        countIf(event_type = 'token.presented' AND source_kind = 'mcp_server') AS mcp_presentations,
        max(greatest(length(arrayDistinct(token_aud_canonical)), length(arrayDistinct(granted_aud_canonical)),
            length(arrayDistinct(presented_aud_canonical)))) AS max_aud,
        uniqExactIf(resource_canonical, event_type = 'token.presented' AND resource_canonical != '') AS resources,
        countIf(event_type = 'token.presented' AND aud_match = 'different') AS outside,
        max(token_exp) AS exp,
        maxIf(toInt64(toUnixTimestamp(occurred_at)), event_type = 'token.presented' AND decision = 'accepted') AS last_accepted_raw,
        if(accepted > 0, last_accepted_raw, NULL) AS last_accepted,
        max(token_exp - token_iat) AS lifetime,
        groupUniqArrayArray(arrayFilter(p -> p.1 != '', arrayConcat(
            arrayZip(requested_resources_drift, requested_resources),
            arrayZip(granted_aud_drift, granted_aud),
            arrayZip(presented_aud_drift, presented_aud),
            if(resource = '', [], [(resource_drift_key, resource)])
        ))) AS spellings
    FROM {{db}}.events FINAL
    WHERE tenant = {tenant:String}
      AND occurred_at >= {since:DateTime64(3, 'UTC')}
      AND occurred_at < {until:DateTime64(3, 'UTC')}
    GROUP BY token_key
) AS t
)
