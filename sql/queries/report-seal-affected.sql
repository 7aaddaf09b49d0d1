-- After sealing {day} as {seal_id} (src/reports/seal.ts): the other sealed days of the tenant
-- (their latest seals) holding, as not spanning days, a token this seal found spanning: a late
-- event of {day} for a token of theirs. The job seals them again.
SELECT toString(d) AS day
FROM
(
SELECT DISTINCT day AS d
FROM {{db}}.report_sealed_tokens
WHERE tenant = {tenant:String}
  AND day != {day:Date}
  AND spanning = 0
  AND (day, seal_id) IN (SELECT day, max(seal_id) FROM {{db}}.report_sealed_days WHERE tenant = {tenant:String} GROUP BY day)
  AND token_hash IN
  (
      SELECT token_hash
      FROM {{db}}.report_sealed_tokens
      WHERE tenant = {tenant:String} AND day = {day:Date} AND seal_id = {seal_id:UInt64} AND spanning = 1
  )
)
ORDER BY d
