-- Events of one tenant, newest first, keyset-paginated on (occurred_at, event_id).
-- One row per event by LIMIT 1 BY rather than FINAL (see token-events.sql): versions of an event
-- are equal in every column sorted on here, so they are adjacent.
SELECT *
FROM {{db}}.events
WHERE tenant = {tenant:String}
  AND occurred_at >= {since:DateTime64(3, 'UTC')}
  AND occurred_at < {until:DateTime64(3, 'UTC')}
  AND ({type:String} = '' OR event_type = {type:String})
  AND ({client:String} = '' OR client_id = {client:String})
  AND ({subject:String} = '' OR subject = {subject:String})
  AND ({resource:String} = '' OR resource_canonical = {resource:String} OR has(granted_aud_canonical, {resource:String}) OR has(requested_resources_canonical, {resource:String}))
  AND ({token:String} = '' OR token_key = {token:String})
  AND ({decision:String} = '' OR decision = {decision:String})
  AND ({tool:String} = '' OR tool_name = {tool:String})
  AND ({cursor_id:String} = '' OR (occurred_at, toString(event_id)) < ({cursor_at:DateTime64(3, 'UTC')}, {cursor_id:String}))
ORDER BY occurred_at DESC, toString(event_id) DESC
LIMIT 1 BY event_id
LIMIT {limit:UInt32}
