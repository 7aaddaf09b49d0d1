/** `audtrail migrate`: create or upgrade the schema, then reconcile retention. */
import type { Config } from '../config.js'
import { createStorage } from '../storage/client.js'
import { migrate } from '../storage/migrate.js'

export async function runMigrate(config: Config, print: (line: string) => void): Promise<number> {
  const storage = createStorage({ ...config.clickhouse, dataDir: config.dataDir })
  const where =
    storage.mode === 'embedded'
      ? `embedded ClickHouse in ${config.dataDir}`
      : `ClickHouse server ${new URL(config.clickhouse.url!).host}`
  print(`migrating database '${storage.database}' (${where})`)
  try {
    const result = await migrate(storage, { retention: config.retention, onProgress: print })
    if (result.applied.length === 0 && result.ttlChanged.length === 0)
      print(`up to date: ${result.alreadyApplied} migrations already applied, nothing to do`)
    else
      print(
        `applied ${result.applied.length} migration(s); retention changed on ${result.ttlChanged.length} table(s)`,
      )
    return 0
  } finally {
    await storage.close()
  }
}
