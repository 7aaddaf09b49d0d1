/**
 * `audtrail consume`: Kafka -> pipeline -> ClickHouse with the streaming rules, one consumer-group
 * member, until a signal. Alerts it raises wait in the outbox for `audtrail detect` to deliver.
 */
import type { Config } from '../config.js'
import { ConfigError } from '../errors.js'
import { Metrics, pipelineMetrics } from '../metrics.js'
import { createClickHouseSink } from '../pipeline/sink.js'
import { startConsumer } from '../transport/consumer.js'
import { createKafka } from '../transport/kafka.js'
import { alertOutbox, storedStates, streamingDetector } from './detection.js'
import {
  logger,
  openStorage,
  prepareStorage,
  registry,
  shutdownSignal,
  sinkOptions,
} from './runtime.js'

export async function runConsume(config: Config): Promise<number> {
  if (!config.kafka) throw new ConfigError(['KAFKA_BROKERS: required by audtrail consume'])
  const log = logger(config, 'audtrail-consume')
  const storage = openStorage(config)
  const kafka = createKafka({
    brokers: config.kafka.brokers,
    clientId: 'audtrail-consume',
    logger: log,
  })
  try {
    await prepareStorage(storage, config, log)
    const resources = registry(config)
    const outbox = alertOutbox(storage, config, log)
    const detector = await streamingDetector(storage, resources, log, outbox)
    const written = sinkOptions(config, log, storage)
    const consumer = await startConsumer({
      detector,
      restoreStates: storedStates(detector, storage),
      kafka,
      topic: config.kafka.topic,
      groupId: config.kafka.groupId,
      sink: createClickHouseSink(storage, written),
      metrics: pipelineMetrics(new Metrics()),
      logger: log,
      retentionDays: config.retention.eventsDays,
      digests: config.integrity.enabled,
      registry: resources,
    })
    const signal = await shutdownSignal()
    log.info({ signal }, 'stopping')
    await consumer.stop()
    // The last heads signed: the next run writes chains of its own.
    await written.integrity?.checkpointer?.close()
    return 0
  } finally {
    await storage.close()
  }
}
