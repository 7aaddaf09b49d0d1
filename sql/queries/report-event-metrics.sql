-- Evidence metrics of one tenant over [since, until) of occurred_at.
--
-- m: one scan of events, grouped per token key first so the per-token figures (audiences,
-- lifetime, replay, expiry) come from the same pass as the per-event counts; events without a
-- token (authorization requests, missing_token presentations) share key ''. Grouped by a 64-bit
-- hash of the token key (cheaper than the string; a collision is negligible). Two or more
-- canonical resources per token: the least and greatest hash of its resources differ (comparing
-- the strings cost about 10 % of the query). Audiences: granted at issuance, presented at a
-- resource server.
--
-- A redelivered event must count once. {{final}} is empty first: the versions of an event share
-- its token key, so a group whose rows outnumber its distinct event ids holds a repeat, and
-- tokens_with_repeats counts those groups (ids compared by a 64-bit hash: a collision could only
-- count a group without a repeat, which costs the second read, never a wrong figure). Only when
-- it is not 0 does the caller read again with FINAL, which costs about 1 s more over 10M events.
-- The per-token figures are maxima, minima and conditions, so repeats never change them.
--
-- d: drift keys seen under two or more raw spellings (requested, granted or presented aud, RS
-- configuration), from the resource_usage_daily rollup alone: a (key, spelling) pair of a day
-- inside the period was seen in it; on the period's first day, when its last_seen >= since; on
-- its last day, when its first_seen < until. Both hold exactly for any rollup row, merged or not.
-- Only a period inside one day that starts after midnight needs the events themselves (first
-- and last seen cannot tell whether the pair was seen in between); the events branch reads
-- nothing otherwise. Reading the partial end days from events instead cost 0.65 s of a 30-day
-- report over 10M events (granules span all hours of their clients, so time prunes little).
-- Existence only: a duplicated row changes nothing, so this part needs no FINAL.
SELECT *
FROM
(
    SELECT
        sum(t.events) AS events,
        countIf(t.events != t.distinct_events) AS tokens_with_repeats,
        sum(t.presentations) AS presentations,
        sum(t.accepted) AS accepted,
        sum(t.accepted_validated) AS accepted_validated,
        sum(t.accepted_mismatch) AS accepted_mismatches,
        sum(t.token_requests) AS token_requests,
        sum(t.token_requests_with_resource) AS token_requests_with_resource,
        sum(t.loggable) AS loggable_presentations,
        sum(t.complete) AS complete_presentations,
        sum(t.mcp_presentations) AS mcp_presentations,
        countIf(t.has_token AND t.max_aud > 0) AS tokens_with_aud,
        countIf(t.has_token AND t.max_aud > 1) AS multi_audience_tokens,
        countIf(t.has_token AND t.least_resource != t.greatest_resource AND t.outside > 0) AS cross_audience_replays,
        countIf(t.has_token AND t.exp IS NOT NULL AND t.accepted > 0) AS accepted_tokens_with_exp,
        countIf(t.has_token AND t.accepted > 0 AND t.last_accepted - t.exp > {clock_skew_s:Int64}) AS expired_tokens_accepted,
        countIf(t.has_token AND t.lifetime IS NOT NULL) AS tokens_with_lifetime,
        quantilesExactInclusiveIf(0.5, 0.95)(toFloat64(assumeNotNull(t.lifetime)), t.has_token AND t.lifetime IS NOT NULL) AS lifetime_quantiles
    FROM
    (
        SELECT
            max(notEmpty(token_key)) AS has_token,
            count() AS events,
            uniqExact(cityHash64(event_id)) AS distinct_events,
            countIf(event_type = 'token.presented') AS presentations,
            countIf(event_type = 'token.presented' AND decision = 'accepted') AS accepted,
            countIf(event_type = 'token.presented' AND decision = 'accepted' AND aud_validated = true) AS accepted_validated,
            countIf(event_type = 'token.presented' AND decision = 'accepted' AND aud_match = 'different') AS accepted_mismatch,
            countIf(event_type != 'token.presented') AS token_requests,
            countIf(event_type != 'token.presented' AND notEmpty(requested_resources)) AS token_requests_with_resource,
            countIf(event_type = 'token.presented' AND reason != 'missing_token') AS loggable,
            countIf(event_type = 'token.presented' AND reason != 'missing_token' AND notEmpty(resource) AND notEmpty(presented_aud)
                AND (source_kind != 'mcp_server' OR (tool_method != '' AND (tool_method != 'tools/call' OR notEmpty(tool_name))))) AS complete,
            countIf(event_type = 'token.presented' AND source_kind = 'mcp_server') AS mcp_presentations,
            -- Distinct canonical audiences of an event; arrayDistinct only where there are two or more.
            max(greatest(
                if(length(granted_aud_canonical) > 1, length(arrayDistinct(granted_aud_canonical)), length(granted_aud_canonical)),
                if(length(presented_aud_canonical) > 1, length(arrayDistinct(presented_aud_canonical)), length(presented_aud_canonical))
            )) AS max_aud,
            minIf(cityHash64(resource_canonical), event_type = 'token.presented' AND notEmpty(resource_canonical)) AS least_resource,
            maxIf(cityHash64(resource_canonical), event_type = 'token.presented' AND notEmpty(resource_canonical)) AS greatest_resource,
            countIf(event_type = 'token.presented' AND aud_match = 'different') AS outside,
            max(token_exp) AS exp,
            maxIf(toInt64(toUnixTimestamp(occurred_at)), event_type = 'token.presented' AND decision = 'accepted') AS last_accepted,
            max(token_exp - token_iat) AS lifetime
        FROM {{db}}.events {{final}}
        WHERE tenant = {tenant:String}
          AND occurred_at >= {since:DateTime64(3, 'UTC')}
          AND occurred_at < {until:DateTime64(3, 'UTC')}
        GROUP BY cityHash64(token_key)
    ) AS t
) AS m
CROSS JOIN
(
    SELECT
        arraySort(groupArray(k)) AS drifted_keys,
        arraySort(arrayFlatten(groupArray(arrayMap(r -> (k, r), spellings)))) AS drifted_spellings
    FROM
    (
        SELECT k, groupUniqArray(raw) AS spellings
        FROM
        (
            SELECT resource_drift_key AS k, resource_raw AS raw
            FROM {{db}}.resource_usage_daily
            WHERE tenant = {tenant:String}
              AND day >= toDate({since:DateTime64(3, 'UTC')})
              AND day <= toDate({until:DateTime64(3, 'UTC')})
              AND last_seen >= {since:DateTime64(3, 'UTC')}
              AND first_seen < {until:DateTime64(3, 'UTC')}
              AND NOT (toDate({since:DateTime64(3, 'UTC')}) = toDate({until:DateTime64(3, 'UTC')})
                       AND toStartOfDay({since:DateTime64(3, 'UTC')}) != {since:DateTime64(3, 'UTC')})
            GROUP BY k, raw
            UNION ALL
            SELECT k, raw
            FROM {{db}}.events
            ARRAY JOIN
                arrayConcat(requested_resources_drift, granted_aud_drift, presented_aud_drift, [resource_drift_key]) AS k,
                arrayConcat(requested_resources, granted_aud, presented_aud, [resource]) AS raw
            WHERE toDate({since:DateTime64(3, 'UTC')}) = toDate({until:DateTime64(3, 'UTC')})
              AND toStartOfDay({since:DateTime64(3, 'UTC')}) != {since:DateTime64(3, 'UTC')}
              AND tenant = {tenant:String}
              AND occurred_at >= {since:DateTime64(3, 'UTC')}
              AND occurred_at < {until:DateTime64(3, 'UTC')}
            GROUP BY k, raw
        )
        WHERE k != ''
        GROUP BY k
        HAVING length(spellings) > 1
    )
) AS d
