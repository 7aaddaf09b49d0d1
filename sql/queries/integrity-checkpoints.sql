-- A tenant's signed checkpoints, oldest first within each writer.
SELECT writer, seq, jws
FROM {{db}}.integrity_checkpoints FINAL
WHERE tenant = {tenant:String}
ORDER BY writer, seq
