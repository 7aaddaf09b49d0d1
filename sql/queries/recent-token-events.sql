-- The recent events of tokens, oldest first: rebuilds the detector's per-token state at start.
SELECT *
FROM {{db}}.events FINAL
WHERE received_at >= {since:DateTime64(3, 'UTC')} AND token_key != ''
ORDER BY occurred_at
LIMIT {limit:UInt32}
