-- The engine that ran 0010's `ALTER ... MODIFY QUERY` keeps client_usage_daily_mv as altered
-- until it loads the view again (a restart): an insert it took before a restart and is sent
-- again after it (the sink's insert journal) counts twice in client_usage_daily, while the other
-- views drop the repeat. Builds since then detach and attach a view right after changing it; a
-- database migrated by an earlier build, whose server has not restarted since, gets it here.
-- Harmless everywhere else: attached, the view is the one a restart would load. Applied again
-- after a failure between the two, the pair still ends with the view attached.
DETACH TABLE IF EXISTS {{db}}.client_usage_daily_mv {{on_cluster}};
ATTACH TABLE IF NOT EXISTS {{db}}.client_usage_daily_mv {{on_cluster}};
