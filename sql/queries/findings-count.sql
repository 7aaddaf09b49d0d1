-- How many findings of one tenant the list's filters match (findings-list.sql's WHERE, without
-- the cursor), for the list's `total`. Counted up to {bound} rows, with FINAL: exact at or below
-- the bound. Above it the caller counts again without FINAL and without the bound ({{final}} is
-- '' and {bound} the largest UInt64): versions of a finding not yet merged count once each, so
-- that figure is an estimate from above, flagged as such.
SELECT count() AS n
FROM
(
    SELECT
        if(t.status = '', 'open', if(t.status = 'resolved' AND f.last_seen > t.updated_at, 'open', t.status)) AS status
    FROM {{db}}.findings AS f {{final}}
    LEFT JOIN (SELECT * FROM {{db}}.finding_triage FINAL WHERE tenant = {tenant:String}) AS t
        ON t.finding_id = f.finding_id
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
      AND (empty({statuses:Array(String)}) OR has({statuses:Array(String)}, status))
    LIMIT {bound:UInt64}
)
SETTINGS join_use_nulls = 0
