-- findings-count.sql without a status filter, so without the join with the tenant's triage (only
-- the status reads it). How the versions of a finding are collapsed is the caller's choice:
-- {{final}} 'FINAL' and {{distinct}} '' count each finding by its latest version, exact for every
-- filter; {{final}} '' and {{distinct}} 'DISTINCT' count distinct finding ids over every stored
-- version, exact only when the filters read columns no version changes (the tenant, the id and
-- the rule id: finding_id is a hash of them and the dedup key); both '' count the versions not
-- yet merged once each, an estimate from above. Counted up to {bound} rows.
SELECT count() AS n
FROM
(
    SELECT {{distinct}} f.finding_id
    FROM {{db}}.findings AS f {{final}}
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
    LIMIT {bound:UInt64}
)
