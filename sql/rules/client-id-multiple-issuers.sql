-- client-id-multiple-issuers: one client id seen at two or more authorization servers (issuer
-- identifiers, compared without a trailing slash) within {lookback_s}, for clients with an event
-- received in [from, to). AS-side events (authorization.requested, token.issued, token.exchanged)
-- always count; token.presented (the token's own issuer) only when {include_presented} is 1.
-- Client ID Metadata Document URLs (https with a path) are portable across issuers and left out
-- when {ignore_url_client_ids} is 1.
WITH window_clients AS
(
    SELECT DISTINCT tenant, client_id
    FROM {{db}}.events FINAL
    WHERE received_at >= {from:DateTime64(3, 'UTC')}
      AND received_at < {to:DateTime64(3, 'UTC')}
      AND client_id != ''
      AND issuer != ''
      AND (event_type != 'token.presented' OR {include_presented:UInt8} = 1)
      AND NOT ({ignore_url_client_ids:UInt8} = 1 AND match(client_id, '^https://[^/?#]+/[^?#]+'))
),
per_issuer AS
(
    SELECT
        tenant,
        client_id,
        trim(TRAILING '/' FROM issuer) AS iss,
        min(occurred_at) AS first_seen,
        max(occurred_at) AS last_seen,
        count() AS events,
        argMin(event_id, occurred_at) AS first_event_id,
        groupUniqArray(8)(event_type) AS event_types
    FROM {{db}}.events FINAL
    WHERE received_at < {to:DateTime64(3, 'UTC')}
      AND occurred_at >= {from:DateTime64(3, 'UTC')} - toIntervalSecond({lookback_s:UInt32})
      AND client_id != ''
      AND issuer != ''
      AND (event_type != 'token.presented' OR {include_presented:UInt8} = 1)
      AND (tenant, client_id) IN (SELECT tenant, client_id FROM window_clients)
    GROUP BY tenant, client_id, iss
)
SELECT
    tenant,
    client_id,
    arrayMap(x -> x.2, arraySort(groupArray((first_seen, iss)))) AS issuers,
    arrayMap(
        x -> map('issuer', x.2, 'first_seen', toString(x.1), 'last_seen', toString(x.3), 'events', toString(x.4)),
        arraySort(groupArray((first_seen, iss, last_seen, events)))
    ) AS per_issuer,
    arrayMap(x -> x.2, arraySort(groupArray((first_seen, first_event_id)))) AS event_ids,
    max(last_seen) AS latest
FROM per_issuer
GROUP BY tenant, client_id
HAVING count() >= 2
ORDER BY tenant, client_id
LIMIT {max_results:UInt32}
