-- findings-count-untriaged.sql's estimate (no FINAL, no DISTINCT, no bound): the
-- stored versions of a tenant's findings that the list's filters match, not yet merged versions
-- counted once each, an estimate from above. A plain count() over the filters, without the
-- subquery of finding ids the bounded counts need for their LIMIT: the same number, but with no
-- filter the engine answers it from the parts' row counts and reads no column, and with filters
-- it reads the filters' columns only (bench/README.md, "Findings list at 30 000 findings").
SELECT count() AS n
FROM {{db}}.findings AS f
WHERE f.tenant = {tenant:String}
  AND ({id:String} = '' OR f.finding_id = {id:String})
  AND (empty({rules:Array(String)}) OR has({rules:Array(String)}, f.rule_id))
  AND (empty({severities:Array(String)}) OR has({severities:Array(String)}, f.severity))
  AND (empty({resources:Array(String)}) OR has({resources:Array(String)}, f.resource))
  AND ({client:String} = '' OR f.client_id = {client:String})
  AND ({token:String} = '' OR f.token_key = {token:String}
   OR ({token_json:String} != '' AND position(f.evidence, {token_json:String}) > 0))
  AND ({text:String} = ''
       OR f.client_id ILIKE {text:String}
       OR f.resource ILIKE {text:String}
       OR f.token_key ILIKE {text:String}
       OR f.rule_id ILIKE {text:String}
       OR f.title ILIKE {text:String})
  AND f.last_seen >= {since:DateTime64(3, 'UTC')}
  AND f.last_seen < {until:DateTime64(3, 'UTC')}
