-- Of the sealed days {sealed_days} (seals {sealed_ids}) a report is about to use, those holding a
-- token sealed as not spanning days that the report would group too: a token with rows, in the
-- period, in a day read from the rollup or at the period's ends (report_event_facts), or sealed
-- as spanning in another of these days. Such a token got an event of another day after its day
-- was sealed (a late event); its figures would count once in its day's seal and again in the
-- grouping. The repository reads those days from the rollup instead (and asks again, as that
-- adds rows to the grouping); the job seals them again (src/reports/seal.ts).
SELECT toString(d) AS day
FROM
(
SELECT DISTINCT day AS d
FROM {{db}}.report_sealed_tokens
WHERE tenant = {tenant:String}
  AND day IN {sealed_days:Array(Date)}
  AND seal_id = {sealed_ids:Array(UInt64)}[indexOf({sealed_days:Array(Date)}, day)]
  AND spanning = 0
  AND token_hash IN
  (
      SELECT token_hash
      FROM {{db}}.token_usage_hourly
      WHERE tenant = {tenant:String}
        AND hour >= {full_from:DateTime64(3, 'UTC')}
        AND hour < {full_to:DateTime64(3, 'UTC')}
        AND toDate(hour) NOT IN {sealed_days:Array(Date)}
      UNION ALL
      SELECT token_hash
      FROM {{db}}.report_event_facts
      WHERE tenant = {tenant:String}
        AND occurred_at >= {since:DateTime64(3, 'UTC')}
        AND occurred_at < {until:DateTime64(3, 'UTC')}
        AND (occurred_at < {full_from:DateTime64(3, 'UTC')} OR occurred_at >= {full_to:DateTime64(3, 'UTC')})
      UNION ALL
      SELECT token_hash
      FROM {{db}}.report_sealed_tokens
      WHERE tenant = {tenant:String}
        AND day IN {sealed_days:Array(Date)}
        AND seal_id = {sealed_ids:Array(UInt64)}[indexOf({sealed_days:Array(Date)}, day)]
        AND spanning = 1
  )
)
ORDER BY d
