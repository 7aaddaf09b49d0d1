-- token-summary.sql and token-lifecycle.sql in one read of the token's events (one pass over the
-- token_key and subject_token_key skip indexes instead of two). Each row is either a summary group
-- (is_presentation = 1: the token's presentations per resource, canonical else as presented, and
-- decision; distinct events, first and last) or one lifecycle event (is_presentation = 0: the
-- token's other events, its issuance and the exchanges that issued it, and the exchanges that
-- took it as subject token; grouped by event id, so versions of an event count once, as LIMIT 1
-- BY does: they hold the same values). Groups sorted by resource and decision, events oldest
-- first; at most {limit} of each (the caller asks for one more to know whether a limit cut them).
-- {{any_event_columns}} is any(c) AS c for each column the API shows of an event.
SELECT
    is_presentation,
    group_resource,
    group_decision,
    uniqExact(id_) AS group_count,
    min(at_) AS first_seen,
    max(at_) AS last_seen,
    {{any_event_columns}}
FROM
(
    SELECT
        -- 1: a presentation of the token (the summary); 0: a lifecycle event (token-lifecycle.sql's
        -- condition). An event that is both (a presentation naming the token as subject too) is
        -- read once and counted in each, as the two queries did.
        arrayJoin(arrayFilter(x -> x >= 0, [
            if(token_key = {key:String} AND event_type = 'token.presented', 1, -1),
            if((token_key = {key:String} AND event_type != 'token.presented') OR subject_token_key = {key:String}, 0, -1)
        ])) AS is_presentation,
        if(is_presentation = 1, if(resource_canonical != '', resource_canonical, resource), '') AS group_resource,
        if(is_presentation = 1, decision, '') AS group_decision,
        if(is_presentation = 1, '', toString(event_id)) AS group_event,
        event_id AS id_,
        occurred_at AS at_,
        {{stored_event_columns}}
    FROM {{db}}.events
    WHERE tenant = {tenant:String} AND (token_key = {key:String} OR subject_token_key = {key:String})
)
GROUP BY is_presentation, group_resource, group_decision, group_event
ORDER BY is_presentation, group_resource, group_decision, first_seen, event_id
LIMIT {limit:UInt32} BY is_presentation
SETTINGS max_threads = 1
