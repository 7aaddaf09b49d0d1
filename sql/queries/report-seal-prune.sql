-- After sealing {day} as {seal_id} (src/storage/report-seal.ts): the token rows of the day's
-- seals but the latest two (reports use the latest seal of a day; the one before it
-- stays for a report that chose it just before this seal's day row was written). Orphans of a
-- run that stopped between its two inserts go too. A lightweight delete: rows hidden at once,
-- removed by merges.
DELETE FROM {{db}}.report_sealed_tokens
WHERE tenant = {tenant:String}
  AND day = {day:Date}
  AND seal_id NOT IN (
      SELECT seal_id
      FROM {{db}}.report_sealed_days
      WHERE tenant = {tenant:String} AND day = {day:Date}
      ORDER BY seal_id DESC
      LIMIT 2
  )
