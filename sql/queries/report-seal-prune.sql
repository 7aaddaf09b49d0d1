-- After sealing {day} as {seal_id} (src/reports/seal.ts): the token rows of its superseded seals
-- (reports use the latest seal of a day only). A lightweight delete: rows hidden at once, removed
-- by merges.
DELETE FROM {{db}}.report_sealed_tokens
WHERE tenant = {tenant:String} AND day = {day:Date} AND seal_id < {seal_id:UInt64}
