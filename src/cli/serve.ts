/**
 * `audtrail serve`: the embedded all-in-one. HTTP ingest writes straight to storage; with
 * KAFKA_BROKERS set, ingest produces to the topic and an in-process consumer stores it.
 */
import { buildApp } from '../api/app.js'
import type { Config } from '../config.js'
import { Metrics, pipelineMetrics } from '../metrics.js'
import { kafkaTarget, sinkTarget } from '../pipeline/ingest.js'
import { createClickHouseSink } from '../pipeline/sink.js'
import { startConsumer, type RunningConsumer } from '../transport/consumer.js'
import { createKafka, ensureTopics } from '../transport/kafka.js'
import { scheduleLoop, streamingDetector } from './detection.js'
import {
  authenticator,
  logger,
  openStorage,
  prepareStorage,
  registry,
  shutdownSignal,
} from './runtime.js'

export async function runServe(config: Config, print: (line: string) => void): Promise<number> {
  const log = logger(config, 'audtrail-serve')
  const authenticate = authenticator(config, log)
  const resources = registry(config)
  const aliases = resources?.aliases
  const storage = openStorage(config)
  const metrics = new Metrics()
  const pipeline = pipelineMetrics(metrics)
  let consumer: RunningConsumer | undefined
  let disconnect = async () => {}
  try {
    await prepareStorage(storage, config, log)
    const sink = createClickHouseSink(storage)
    const detector = await streamingDetector(storage, resources, log)
    let target = sinkTarget(sink, detector)
    let kafkaReady = async () => true
    if (config.kafka) {
      const kafka = createKafka({
        brokers: config.kafka.brokers,
        clientId: 'audtrail-serve',
        logger: log,
      })
      await ensureTopics(kafka, { topic: config.kafka.topic })
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
      await producer.connect()
      disconnect = () => producer.disconnect()
      target = kafkaTarget(producer, config.kafka.topic, sink)
      consumer = await startConsumer({
        kafka,
        topic: config.kafka.topic,
        groupId: config.kafka.groupId,
        sink,
        detector,
        metrics: pipeline,
        logger: log,
        retentionDays: config.retention.eventsDays,
        aliases,
      })
      const admin = kafka.admin()
      kafkaReady = async () => {
        try {
          await admin.connect()
          await admin.describeCluster()
          return true
        } catch {
          return false
        }
      }
    }
    const app = await buildApp({
      logger: log,
      authenticate,
      metrics,
      readiness: async () => ({ storage: await sink.ping(), transport: await kafkaReady() }),
      ingest: { target, retentionDays: config.retention.eventsDays, pipeline, aliases },
    })
    const address = await app.listen({ host: config.host, port: config.port })
    print(
      `audtrail serve: listening on ${address} (${storage.mode} ClickHouse${config.kafka ? ', Kafka transport' : ''})`,
    )
    const stop = shutdownSignal()
    const scheduled = scheduleLoop(storage, config, resources, log, stop)
    log.info({ signal: await stop }, 'stopping')
    await app.close()
    await scheduled
    return 0
  } finally {
    await consumer?.stop().catch(() => {})
    await disconnect().catch(() => {})
    await storage.close()
  }
}
