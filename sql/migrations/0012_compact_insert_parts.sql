-- Parts whose data is under 64 MiB are written in the Compact format: every column in one file,
-- instead of two files or more per column, array and null map (Wide). The engine weighs an
-- inserted block by its size in memory and a merge by its parts' uncompressed size. A consumer
-- write of 40 000 events is about 24 MB and made a Wide part of `events` with over 200 files,
-- and another of token_usage_hourly (whose uniqExact states pass the default 10 MiB in memory).
-- Creating those files was the largest part of the insert's kernel time: 300 000 events through
-- `audtrail consume` spent 11.3 us of system time per event in the insert thread, 4.9 to 6.2
-- with this. Merges of `events` past the threshold (three writes or more) are Wide, which reads
-- single columns best. Parts already stored keep their format until merged.
ALTER TABLE {{db}}.events {{on_cluster}} MODIFY SETTING min_bytes_for_wide_part = 67108864;
ALTER TABLE {{db}}.token_usage_hourly {{on_cluster}} MODIFY SETTING min_bytes_for_wide_part = 67108864;
