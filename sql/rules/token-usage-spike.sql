-- token-usage-spike: per client and canonical resource, presentations per interval. Every
-- interval holding an event received in [from, to) is scored against the intervals before it
-- (at most {baseline_intervals}, from the pair's first activity on, zero-filled). The level is
-- the median of the active (non-zero) intervals, or of the same time of day on earlier days when
-- higher; the spread comes from the active intervals, on the log scale. A spike passes three
-- tests at once (docs/design/detection.md, "token-usage-spike"):
--   robust z = (ln x - ln level) / spread > {threshold}, spread = the larger of the upper-tail
--     spread (ln q95 - ln median) / 1.645 and ln(1 + {min_mad} / level) / 0.6745;
--   over-dispersed Poisson tail P(X >= x / phi | lambda = max(level, 1) / phi) < {max_p} (the
--     normal tail of the threshold), phi the variance-to-mean ratio of the pair's own baseline;
--   x >= {min_ratio} * max(level, 1) and x >= {min_events};
-- with at least {min_history} intervals of history, {min_active} of them active (or at least one,
-- with the dispersion and spread of the tenant's established pairs as floors).
-- Sessions straddle interval edges. The dispersion phi is the largest of the variance-to-mean
-- ratios of single intervals and of two consecutive intervals (a session cut in two by an edge
-- is whole in the pair), and of the sessions themselves: the 95th percentile of the requests
-- per token, over the tokens used within two consecutive intervals of the baseline, weighed by
-- the share of idle intervals (a stream's tokens follow each other and are no bursts). And an established pair's
-- two-interval window ending at the scored interval passes the same three tests against the
-- baseline's two-interval windows (a burst cut in two is judged whole).
-- It fires on the run whose events carry the interval (or its two-interval window) across all
-- three, so one interval is reported once.
WITH candidates AS
(
    SELECT DISTINCT
        tenant,
        client_id,
        resource_canonical AS resource,
        intDiv(toUnixTimestamp(occurred_at), {interval_s:UInt32}) * {interval_s:UInt32} AS bucket
    FROM {{db}}.events FINAL
    WHERE received_at >= {from:DateTime64(3, 'UTC')}
      AND received_at < {to:DateTime64(3, 'UTC')}
      AND event_type = 'token.presented'
      AND client_id != ''
      AND resource_canonical != ''
),
series AS
(
    SELECT
        tenant,
        client_id,
        resource,
        min(bucket) AS first_bucket,
        mapFromArrays(groupArray(bucket), groupArray(n)) AS counts,
        mapFromArrays(groupArray(bucket), groupArray(n_new)) AS counts_new,
        mapFromArrays(groupArray(bucket), groupArray(event_ids)) AS samples,
        mapFromArrays(groupArray(bucket), groupArray(last_occurred)) AS lasts
    FROM
    (
        SELECT
            tenant,
            client_id,
            resource_canonical AS resource,
            intDiv(toUnixTimestamp(occurred_at), {interval_s:UInt32}) * {interval_s:UInt32} AS bucket,
            toFloat64(count()) AS n,
            toFloat64(countIf(received_at >= {from:DateTime64(3, 'UTC')})) AS n_new,
            groupArray(10)(event_id) AS event_ids,
            max(occurred_at) AS last_occurred
        FROM {{db}}.events FINAL
        WHERE received_at < {to:DateTime64(3, 'UTC')}
          AND occurred_at >= {from:DateTime64(3, 'UTC')} - toIntervalSecond({lookback_s:UInt32})
          AND event_type = 'token.presented'
          -- (tenant, client_id) leads the sorting key of events: the first IN prunes by index.
          AND (tenant, client_id) IN (SELECT tenant, client_id FROM candidates)
          AND (tenant, client_id, resource_canonical) IN
              (SELECT tenant, client_id, resource FROM candidates)
        GROUP BY tenant, client_id, resource, bucket
    )
    GROUP BY tenant, client_id, resource
),
-- Sessions: each token's requests at the pair, with the first and last interval they fall in. A
-- token whose requests fall within two consecutive intervals is one burst, whole, whatever edge
-- it crossed (an hour count sees a session cut in two as two small ones).
tokens AS
(
    SELECT
        tenant,
        client_id,
        resource,
        groupArray(first_bucket) AS token_first,
        groupArray(last_bucket) AS token_last,
        groupArray(n) AS token_n
    FROM
    (
        SELECT
            tenant,
            client_id,
            resource_canonical AS resource,
            token_key,
            min(intDiv(toUnixTimestamp(occurred_at), {interval_s:UInt32}) * {interval_s:UInt32}) AS first_bucket,
            max(intDiv(toUnixTimestamp(occurred_at), {interval_s:UInt32}) * {interval_s:UInt32}) AS last_bucket,
            toFloat64(count()) AS n
        FROM {{db}}.events FINAL
        WHERE received_at < {to:DateTime64(3, 'UTC')}
          AND occurred_at >= {from:DateTime64(3, 'UTC')} - toIntervalSecond({lookback_s:UInt32})
          AND event_type = 'token.presented'
          AND token_key != ''
          AND (tenant, client_id) IN (SELECT tenant, client_id FROM candidates)
          AND (tenant, client_id, resource_canonical) IN
              (SELECT tenant, client_id, resource FROM candidates)
        GROUP BY tenant, client_id, resource, token_key
    )
    GROUP BY tenant, client_id, resource
),
scored AS
(
    SELECT
        c.tenant AS tenant,
        c.client_id AS client_id,
        c.resource AS resource,
        c.bucket AS bucket,
        greatest(s.first_bucket, toInt64(c.bucket) - {baseline_intervals:UInt32} * {interval_s:UInt32}) AS start,
        intDiv(toInt64(c.bucket) - start, {interval_s:UInt32}) AS history,
        arrayMap(i -> s.counts[toUInt64(start + i * {interval_s:UInt32})], range(toUInt32(greatest(history, 0)))) AS baseline,
        -- The pair's active intervals: a pair used a few hours a week is judged by the size of
        -- those hours, not by the zeros between them.
        arrayFilter(v -> v > 0, baseline) AS active,
        arrayReduce('quantileExactInclusive(0.5)', active) AS active_median,
        -- The same time of day on earlier days (a nightly batch), when the interval divides a day.
        if(86400 % {interval_s:UInt32} = 0,
           arrayFilter((v, i) -> (start + i * {interval_s:UInt32}) % 86400 = toInt64(c.bucket) % 86400,
                       baseline, range(length(baseline))),
           []) AS same_time,
        if(length(same_time) >= 1, arrayReduce('quantileExactInclusive(0.5)', same_time), 0) AS seasonal,
        greatest(active_median, seasonal) AS median,
        arrayReduce('quantileExactInclusive(0.5)', arrayMap(v -> abs(v - active_median), active)) AS mad,
        arrayReduce('quantileExactInclusive(0.95)', active) AS q95,
        -- Spread on the log scale (activity varies by factors), of the upside: the upper-tail
        -- spread, and a floor of {min_mad} requests around the level. (Not the MAD of the logs:
        -- a job whose runs straddle an hour boundary has hours of 2 and of 40, and their spread
        -- below the level says nothing of how big an hour may get.)
        greatest(
            (log(q95) - log(active_median)) / 1.645,
            log(1 + {min_mad:Float64} / median) / 0.6745) AS own_spread,
        greatest(median, 1.0) AS rate,
        -- Over-dispersion from the pair's own history: the variance-to-mean ratio of the
        -- zero-filled baseline, each interval capped at the active 95th percentile (one earlier
        -- burst does not mask the next). Requests come in sessions: for a pair used in bursts
        -- it is about the size of one burst, for a steady stream about 1. Counts are judged in
        -- those units (quasi-Poisson: x / phi against rate / phi), so three sessions in one
        -- hour of a pair that usually has one are ordinary, thirty are not.
        arrayMap(v -> least(v, q95), baseline) AS capped,
        greatest(1.0, arraySum(arrayMap(v -> v * v, capped)) / greatest(arraySum(capped), 1.0)
                      - arrayAvg(capped)) AS own_phi,
        -- Two consecutive intervals (a session cut in two by an interval edge is whole in one
        -- of them), each sum of the baseline except the one that shares the scored interval's
        -- predecessor: their level, spread and dispersion, as for single intervals.
        arrayMap(i -> baseline[i] + baseline[i + 1], range(1, toUInt32(greatest(history - 1, 1)))) AS pairs,
        arrayFilter(v -> v > 0, pairs) AS active2,
        arrayReduce('quantileExactInclusive(0.5)', active2) AS active_median2,
        if(86400 % {interval_s:UInt32} = 0,
           arrayFilter((v, i) -> (start + i * {interval_s:UInt32}) % 86400 = toInt64(c.bucket) % 86400,
                       pairs, range(1, length(pairs) + 1)),
           []) AS same_time2,
        if(length(same_time2) >= 1, arrayReduce('quantileExactInclusive(0.5)', same_time2), 0) AS seasonal2,
        greatest(active_median2, seasonal2) AS median2,
        arrayReduce('quantileExactInclusive(0.95)', active2) AS q95_2,
        greatest(
            (log(q95_2) - log(active_median2)) / 1.645,
            log(1 + {min_mad:Float64} / median2) / 0.6745) AS spread2,
        arrayMap(v -> least(v, q95_2), pairs) AS capped2,
        if(length(active2) = 0, 1.0,
           greatest(1.0, arraySum(arrayMap(v -> v * v, capped2)) / greatest(arraySum(capped2), 1.0)
                         - arrayAvg(capped2))) AS own_phi2,
        -- Sessions of the baseline: tokens used wholly within it, within two consecutive
        -- intervals. A count of sessions is compound Poisson, its variance-to-mean ratio the
        -- size-biased mean size E[S^2] / E[S], at most the largest session: with the few
        -- sessions a sparse pair has, their 95th percentile is taken (a week of small sessions
        -- does not make the first big one a burst of two). A pair active in most intervals is a
        -- stream whose tokens follow each other, not bursts: the share of idle intervals weighs
        -- it (for a stream on and off by day, about its zero-filled ratio).
        arrayFilter((n, f, l) -> f >= start AND l < toInt64(c.bucket) AND l - f <= {interval_s:UInt32},
                    t.token_n, t.token_first, t.token_last) AS sessions,
        if(length(sessions) = 0 OR history = 0, 1.0,
           greatest(1.0, (1 - length(active) / history)
                         * arrayReduce('quantileExactInclusive(0.95)', sessions))) AS own_phi_sessions,
        greatest(own_phi, own_phi2, own_phi_sessions) AS own_dispersion,
        length(active) >= {min_active:UInt32} AS established,
        s.counts[c.bucket] AS x,
        x - s.counts_new[c.bucket] AS x_before,
        toUInt64(toInt64(c.bucket) - {interval_s:UInt32}) AS previous,
        x + s.counts[previous] AS x2,
        x2 - s.counts_new[c.bucket] - s.counts_new[previous] AS x2_before,
        s.samples[c.bucket] AS event_ids,
        s.lasts[c.bucket] AS last_occurred
    FROM candidates AS c
    INNER JOIN series AS s ON s.tenant = c.tenant AND s.client_id = c.client_id AND s.resource = c.resource
    LEFT JOIN tokens AS t ON t.tenant = c.tenant AND t.client_id = c.client_id AND t.resource = c.resource
),
-- A pair with fewer than {min_active} active intervals has a level but no known burst size or
-- spread: it borrows them from the population, the tenant's pairs of this run with enough
-- history (their medians), as a floor. Without such a population it is not judged.
pooled AS
(
    SELECT *,
        countIf(established) OVER (PARTITION BY tenant) AS population,
        quantileExactIf(0.5)(own_dispersion, established) OVER (PARTITION BY tenant) AS population_phi,
        quantileExactIf(0.5)(own_spread, established) OVER (PARTITION BY tenant) AS population_spread,
        if(established, own_dispersion, greatest(own_dispersion, population_phi)) AS phi,
        if(established, own_spread, greatest(own_spread, population_spread)) AS spread
    FROM scored
),
tested AS
(
    SELECT *,
        -- An active interval holds at least one burst: the rate in bursts is at least 1.
        greatest(rate / phi, 1.0) AS rate_od,
        -- Terms of the Poisson tail from k = ceil(x / phi) on, far enough past it and the rate
        -- to be exact.
        toUInt32(100 + ceil(10 * sqrt(rate_od))) AS terms,
        (log(x) - log(median)) / spread AS z,
        arraySum(arrayMap(k -> exp(k * log(rate_od) - rate_od - lgamma(k + 1)), range(toUInt32(ceil(x / phi)), toUInt32(ceil(x / phi)) + terms))) AS p,
        (log(x_before) - log(median)) / spread AS z_before,
        arraySum(arrayMap(k -> exp(k * log(rate_od) - rate_od - lgamma(k + 1)), range(toUInt32(ceil(x_before / phi)), toUInt32(ceil(x_before / phi)) + terms))) AS p_before,
        -- The two-interval window, for an established pair with active windows to compare.
        greatest(median2, 1.0) AS rate2,
        greatest(rate2 / phi, 1.0) AS rate2_od,
        toUInt32(100 + ceil(10 * sqrt(rate2_od))) AS terms2,
        (log(x2) - log(median2)) / spread2 AS z2,
        arraySum(arrayMap(k -> exp(k * log(rate2_od) - rate2_od - lgamma(k + 1)), range(toUInt32(ceil(x2 / phi)), toUInt32(ceil(x2 / phi)) + terms2))) AS p2,
        (log(x2_before) - log(median2)) / spread2 AS z2_before,
        arraySum(arrayMap(k -> exp(k * log(rate2_od) - rate2_od - lgamma(k + 1)), range(toUInt32(ceil(x2_before / phi)), toUInt32(ceil(x2_before / phi)) + terms2))) AS p2_before,
        established AND length(active2) >= 1 AS judged2
    FROM pooled
),
verdicts AS
(
    SELECT *,
        x >= {min_events:UInt32} AND x >= {min_ratio:Float64} * rate
          AND z > {threshold:Float64} AND p < {max_p:Float64} AS spike1,
        x_before >= {min_events:UInt32} AND x_before >= {min_ratio:Float64} * rate
          AND z_before > {threshold:Float64} AND p_before < {max_p:Float64} AS spike1_before,
        judged2 AND x2 >= {min_events:UInt32} AND x2 >= {min_ratio:Float64} * rate2
          AND z2 > {threshold:Float64} AND p2 < {max_p:Float64} AS spike2,
        judged2 AND x2_before >= {min_events:UInt32} AND x2_before >= {min_ratio:Float64} * rate2
          AND z2_before > {threshold:Float64} AND p2_before < {max_p:Float64} AS spike2_before
    FROM tested
)
SELECT tenant, client_id, resource, bucket, history, length(active) AS active_intervals,
       -- The window reported: the scored interval when it is a spike alone, else the two.
       if(spike1, 1, 2) AS window_intervals,
       if(spike1, seasonal, seasonal2) AS w_seasonal,
       if(spike1, median, median2) AS w_median, mad, if(spike1, q95, q95_2) AS w_q95,
       phi, own_phi_sessions, length(sessions) AS baseline_sessions, established, population,
       if(spike1, x, x2) AS w_x, x AS interval_x, if(spike1, z, z2) AS w_z, if(spike1, p, p2) AS w_p,
       event_ids, last_occurred
FROM verdicts
WHERE history >= {min_history:UInt32} AND length(active) >= 1
  AND (established OR population >= 1)
  AND (spike1 OR spike2) AND NOT (spike1_before OR spike2_before)
ORDER BY tenant, client_id, resource, bucket
LIMIT {max_results:UInt32}
