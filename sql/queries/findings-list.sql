-- Findings of one tenant with their triage, in one of the list's sorts, keyset-paginated on the
-- sort key. The sort is a pair of signed integers and the finding id, ascending: {sort_field} picks
-- the first (last_seen or first_seen in ms, the severity rank 1 low .. 4 critical, or the count),
-- the second is last_seen in ms for the severity and count sorts (newest first among equals) and 0
-- otherwise, and {sort_sign} is -1 for a descending sort and 1 for an ascending one. A cursor is the
-- (signed) key of the last row of a page: the next page starts strictly after it.
--
-- Filters: each list parameter matches any of its values (empty: everything); {resources} are the
-- spellings to match (the canonical form of what the analyst typed, and the text as typed); {text}
-- is an ILIKE pattern (its % _ \ escaped by the caller) matched case-insensitively against the
-- client, resource, token key, rule id and title. {token_json}, when not '', is the token key as
-- JSON text (quoted): a finding whose evidence names the token matches {token} too (the token
-- timeline's findings, whatever the finding is keyed on). triaged_by and triaged_at are who last
-- triaged the finding and when ('' and the epoch when never), as finding-triage-latest.sql reads
-- them: the list's triage fields come with the page.
SELECT
    f.finding_id AS id,
    f.rule_id AS rule_id,
    f.severity AS severity,
    f.title AS title,
    if(t.status = '', 'open', if(t.status = 'resolved' AND f.last_seen > t.updated_at, 'open', t.status)) AS status,
    f.tenant AS tenant,
    f.first_seen AS first_seen,
    f.last_seen AS last_seen,
    f.count AS count,
    f.keys AS keys,
    f.evidence AS evidence,
    f.mappings AS mappings,
    t.note AS note,
    t.assignee AS assignee,
    t.updated_by AS triaged_by,
    t.updated_at AS triaged_at,
    {sort_sign:Int8} * multiIf(
        {sort_field:String} = 'first_seen', toUnixTimestamp64Milli(f.first_seen),
        {sort_field:String} = 'severity', toInt64(multiIf(f.severity = 'critical', 4, f.severity = 'high', 3, f.severity = 'medium', 2, 1)),
        {sort_field:String} = 'count', toInt64(f.count),
        toUnixTimestamp64Milli(f.last_seen)) AS sort_k1,
    {sort_sign:Int8} * if({sort_field:String} IN ('severity', 'count'), toUnixTimestamp64Milli(f.last_seen), toInt64(0)) AS sort_k2
FROM {{db}}.findings AS f FINAL
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
  AND ({cursor_id:String} = '' OR (sort_k1, sort_k2, f.finding_id) > ({cursor_k1:Int64}, {cursor_k2:Int64}, {cursor_id:String}))
ORDER BY sort_k1, sort_k2, f.finding_id
LIMIT {limit:UInt32}
SETTINGS join_use_nulls = 0
