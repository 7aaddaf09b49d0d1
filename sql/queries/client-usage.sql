-- Per-client usage of one tenant since {since} (whole UTC days, from client_activity_blocks:
-- migration 0019): resources, events, distinct tokens (estimated, `uniq`), rejected presentations.
-- One page in client_id order after {after} (keyset cursor); the caller asks for one row more
-- than it shows, to know whether another page follows.
--
-- The window's days, from the day of {since} to now, are the blocks named by the parameters
-- (src/storage/day-blocks.ts): the block of each level 1 to 16 whose take_L is true, starting on
-- from_L, and every 32-day block from from_32 on. Each is one key range of the table, sorted by
-- (tenant, level, start, client_id). First the page's clients (those with a row in one of the
-- blocks: client_id only), then their rows of those blocks, at most 7 per client over 30 days.
WITH page AS
(
    SELECT DISTINCT client_id
    FROM {{db}}.client_activity_blocks
    WHERE tenant = {tenant:String}
      AND client_id > {after:String}
      AND ((level = 1 AND start = {from_1:Date} AND {take_1:Bool})
        OR (level = 2 AND start = {from_2:Date} AND {take_2:Bool})
        OR (level = 4 AND start = {from_4:Date} AND {take_4:Bool})
        OR (level = 8 AND start = {from_8:Date} AND {take_8:Bool})
        OR (level = 16 AND start = {from_16:Date} AND {take_16:Bool})
        OR (level = 32 AND start >= {from_32:Date}))
    ORDER BY client_id
    LIMIT {limit:UInt32}
)
SELECT
    client_id,
    arraySort(groupUniqArrayArray(resources)) AS resources,
    sum(events) AS events,
    uniqMerge(tokens) AS tokens,
    sum(rejected) AS rejected,
    min(first_seen) AS first_seen,
    max(last_seen) AS last_seen
FROM {{db}}.client_activity_blocks
WHERE tenant = {tenant:String}
  AND client_id IN page
  AND ((level = 1 AND start = {from_1:Date} AND {take_1:Bool})
    OR (level = 2 AND start = {from_2:Date} AND {take_2:Bool})
    OR (level = 4 AND start = {from_4:Date} AND {take_4:Bool})
    OR (level = 8 AND start = {from_8:Date} AND {take_8:Bool})
    OR (level = 16 AND start = {from_16:Date} AND {take_16:Bool})
    OR (level = 32 AND start >= {from_32:Date}))
GROUP BY client_id
ORDER BY client_id
