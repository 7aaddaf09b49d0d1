-- Sender-constraint evidence of a compliance report (issue 27): one tenant over [since, until) of
-- occurred_at, the same definitions as GET /v1/sender-constraint (sender-constraint-coverage.sql)
-- summed over the tenant instead of per client and per resource.
--
--   tokens, bound_tokens: distinct tokens issued, exchanged or presented, and of them those whose
--     events carry a confirmation (`cnf.jkt`, RFC 9449 section 6; `cnf.x5t#S256`, RFC 8705 3.1);
--     per 64-bit hash of the token key, as report-token-metrics.sql (a collision costs 2^-64).
--   presentations, proven_presentations: accepted presentations carrying a token, and of them
--     those that proved possession (proof verdict `valid`: a valid DPoP proof or a matching client
--     certificate).
--   bound_presentations, unproven_bound_presentations: accepted presentations of a bound token
--     whose collector records proof facts (a scheme), and of them those without a valid proof (the
--     condition bound-token-downgrade and proof-key-mismatch look at, counted per presentation).
--
-- {{final}} is '' or 'FINAL' (src/storage/report-sender-constraint.ts): the token figures are distinct
-- counts, which an event stored twice cannot change; the presentation counts can, so the report
-- reads again with FINAL when its token rollup saw an event stored twice in the period.
SELECT
    uniqExact(cityHash64(token_key)) AS tokens,
    uniqExactIf(cityHash64(token_key), token_cnf_jkt != '' OR token_cnf_x5t != '') AS bound_tokens,
    countIf(event_type = 'token.presented' AND decision = 'accepted') AS presentations,
    countIf(event_type = 'token.presented' AND decision = 'accepted' AND proof_verdict = 'valid') AS proven_presentations,
    countIf(event_type = 'token.presented' AND decision = 'accepted'
            AND (token_cnf_jkt != '' OR token_cnf_x5t != '') AND proof_scheme != '') AS bound_presentations,
    countIf(event_type = 'token.presented' AND decision = 'accepted'
            AND (token_cnf_jkt != '' OR token_cnf_x5t != '') AND proof_scheme != ''
            AND proof_verdict != 'valid') AS unproven_bound_presentations
FROM {{db}}.events {{final}}
WHERE tenant = {tenant:String}
  AND occurred_at >= {since:DateTime64(3, 'UTC')}
  AND occurred_at < {until:DateTime64(3, 'UTC')}
  AND token_key != ''
  AND event_type IN ('token.issued', 'token.exchanged', 'token.presented')
