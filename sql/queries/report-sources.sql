-- The sources (authorization servers, resource servers, MCP servers, collectors) of one tenant
-- that reported in [lookback_from, until): their stored events in [since, until) and when they
-- were last seen. A source with no event in the period but one in the lookback before it is
-- silent in the period (its period_first_seen is the epoch, as minIf of no row). Counts are
-- stored rows (the sink stores a redelivered event once).
--
-- Two spans, the lookback [lookback_from, since) and the period [since, until), each read as
-- report-token-metrics.sql reads its period: whole hours [*_full_from, *_full_to) from the
-- source_activity_hourly rollup and the partial hours at the ends from report_event_facts (both
-- migration 0016); the caller rounds the bounds (full_from up to the hour, full_to down; a span
-- without a whole hour has full_from >= full_to and reads only facts). A few thousand rollup
-- rows instead of 60 days of events.
SELECT
    source_kind,
    source_id,
    sum(events) AS events,
    minIf(first_seen, in_period) AS period_first_seen,
    max(last_seen) AS last_seen
FROM
(
    SELECT
        source_kind,
        source_id,
        hour >= {full_from:DateTime64(3, 'UTC')} AS in_period,
        if(in_period, events, 0) AS events,
        first_seen,
        last_seen
    FROM {{db}}.source_activity_hourly
    WHERE tenant = {tenant:String}
      AND ((hour >= {lookback_full_from:DateTime64(3, 'UTC')} AND hour < {lookback_full_to:DateTime64(3, 'UTC')})
        OR (hour >= {full_from:DateTime64(3, 'UTC')} AND hour < {full_to:DateTime64(3, 'UTC')}))
    UNION ALL
    SELECT
        source_kind,
        source_id,
        occurred_at >= {since:DateTime64(3, 'UTC')} AS in_period,
        toUInt64(in_period) AS events,
        occurred_at AS first_seen,
        occurred_at AS last_seen
    FROM {{db}}.report_event_facts
    WHERE tenant = {tenant:String}
      AND occurred_at >= {lookback_from:DateTime64(3, 'UTC')}
      AND occurred_at < {until:DateTime64(3, 'UTC')}
      AND if(occurred_at >= {since:DateTime64(3, 'UTC')},
          occurred_at < {full_from:DateTime64(3, 'UTC')} OR occurred_at >= {full_to:DateTime64(3, 'UTC')},
          occurred_at < {lookback_full_from:DateTime64(3, 'UTC')} OR occurred_at >= {lookback_full_to:DateTime64(3, 'UTC')})
)
GROUP BY source_kind, source_id
ORDER BY events DESC, source_kind, source_id
LIMIT {limit:UInt32}
