-- token-usage-spike: per client and canonical resource, presentations per interval. Every
-- interval holding an event received in [from, to) is scored against the intervals before it
-- (at most {baseline_intervals}, from the pair's first activity on, zero-filled) with a robust
-- z-score 0.6745 * (x - median) / MAD. It fires on the run whose events carry the interval
-- across the threshold, so one interval is reported once.
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
        arrayReduce('quantileExactInclusive(0.5)', baseline) AS median,
        arrayReduce('quantileExactInclusive(0.5)', arrayMap(x -> abs(x - median), baseline)) AS mad,
        s.counts[c.bucket] AS x,
        x - s.counts_new[c.bucket] AS x_before,
        0.6745 * (x - median) / greatest(mad, {min_mad:Float64}) AS z,
        0.6745 * (x_before - median) / greatest(mad, {min_mad:Float64}) AS z_before,
        s.samples[c.bucket] AS event_ids,
        s.lasts[c.bucket] AS last_occurred
    FROM candidates AS c
    INNER JOIN series AS s ON s.tenant = c.tenant AND s.client_id = c.client_id AND s.resource = c.resource
)
SELECT tenant, client_id, resource, bucket, history, median, mad, x, z, event_ids, last_occurred
FROM scored
WHERE history >= {min_history:UInt32}
  AND x >= {min_events:UInt32} AND z > {threshold:Float64}
  AND NOT (x_before >= {min_events:UInt32} AND z_before > {threshold:Float64})
ORDER BY tenant, client_id, resource, bucket
LIMIT {max_results:UInt32}
