/** `audtrail migrate`: create or upgrade the schema, reconcile retention, create Kafka topics. */
import type { Config } from '../config.js'
import { migrate } from '../storage/migrate.js'
import { createKafka, ensureTopics } from '../transport/kafka.js'
import { logger, openStorage } from './runtime.js'

export async function runMigrate(config: Config, print: (line: string) => void): Promise<number> {
  const storage = openStorage(config)
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
  } finally {
    await storage.close()
  }
  if (config.kafka) {
    const kafka = createKafka({
      brokers: config.kafka.brokers,
      clientId: 'audtrail-migrate',
      logger: logger(config, 'audtrail-migrate'),
    })
    const created = await ensureTopics(kafka, { topic: config.kafka.topic })
    print(
      created.length > 0 ? `created Kafka topics: ${created.join(', ')}` : 'Kafka topics: present',
    )
  }
  return 0
}
