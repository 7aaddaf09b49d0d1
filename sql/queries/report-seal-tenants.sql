-- The tenants with token rollup rows since {day_from}: the ones the sealing job
-- (src/storage/report-seal.ts, sealAllTenants) looks at. Reads the sorting key's first column.
SELECT DISTINCT tenant
FROM {{db}}.token_usage_hourly
WHERE hour >= toDateTime({day_from:Date}, 'UTC')
ORDER BY tenant
