/**
 * `audtrail serve`: the embedded all-in-one. HTTP ingest writes straight to storage and runs the
 * streaming rules; with KAFKA_BROKERS set, ingest produces to the topic and an in-process
 * consumer stores and detects. Scheduled rules and alert delivery run beside them.
 */
import type { Kafka, Producer } from 'kafkajs'
import { buildApp } from '../api/app.js'
import type { Config } from '../config.js'
import { Metrics, pipelineMetrics } from '../metrics.js'
import { sinkTarget } from '../pipeline/ingest.js'
import { kafkaTarget } from '../transport/ingest-target.js'
import { createClickHouseSink } from '../pipeline/sink.js'
import { checkpointTrustedKeys } from '../integrity/runtime.js'
import { startConsumer, type RunningConsumer } from '../transport/consumer.js'
import { createKafka, ensureTopics } from '../transport/kafka.js'
import {
  alertOutbox,
  deliveryLoop,
  scheduleLoop,
  sealLoop,
  storedStates,
  streamingDetector,
} from './detection.js'
import {
  authenticator,
  consoleOptions,
  logger,
  openStorage,
  prepareStorage,
  registry,
  reportSigningKey,
  reportThresholds,
  shutdownSignal,
  sinkOptions,
} from './runtime.js'

async function kafkaReachable(kafka: Kafka): Promise<boolean> {
  const admin = kafka.admin()
  try {
    await admin.connect()
    await admin.describeCluster()
    return true
  } catch {
    return false
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

export async function runServe(config: Config, print: (line: string) => void): Promise<number> {
  const log = logger(config, 'audtrail-serve')
  const authenticate = authenticator(config, log)
  const resources = registry(config)
  const aliases = resources?.aliases
  const storage = openStorage(config)
  const metrics = new Metrics()
  const pipeline = pipelineMetrics(metrics)
  let consumer: RunningConsumer | undefined
  let producer: Producer | undefined
  let written: ReturnType<typeof sinkOptions> | undefined
  try {
    await prepareStorage(storage, config, log)
    written = sinkOptions(config, log, storage)
    const sink = createClickHouseSink(storage, written)
    let kafka: Kafka | undefined
    if (config.kafka) {
      kafka = createKafka({
        brokers: config.kafka.brokers,
        clientId: 'audtrail-serve',
        logger: log,
      })
      await ensureTopics(kafka, { topic: config.kafka.topic })
      producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
      await producer.connect()
    }
    const outbox = alertOutbox(storage, config, log, producer)
    const detector = await streamingDetector(storage, resources, log, outbox)
    let target = sinkTarget(sink, detector)
    if (kafka && config.kafka && producer) {
      target = kafkaTarget(producer, config.kafka.topic, sink)
      consumer = await startConsumer({
        kafka,
        topic: config.kafka.topic,
        groupId: config.kafka.groupId,
        sink,
        detector,
        restoreStates: storedStates(detector, storage),
        metrics: pipeline,
        logger: log,
        retentionDays: config.retention.eventsDays,
        registry: resources,
      })
    }
    const app = await buildApp({
      logger: log,
      authenticate,
      metrics,
      readiness: async () => ({
        storage: await sink.ping(),
        transport: kafka ? await kafkaReachable(kafka) : true,
      }),
      ingest: { target, retentionDays: config.retention.eventsDays, pipeline, aliases },
      storage,
      reportSigningKey: reportSigningKey(config),
      reportThresholds: reportThresholds(config),
      console: consoleOptions(config),
      publicUrl: config.publicUrl,
      integrityKeys: await checkpointTrustedKeys(config),
    })
    const address = await app.listen({ host: config.host, port: config.port })
    print(
      `audtrail serve: listening on ${address} (${storage.mode} ClickHouse${config.kafka ? ', Kafka transport' : ''})`,
    )
    print(`audtrail serve: analyst console at ${address}/ (API reference at ${address}/docs)`)
    const stop = shutdownSignal()
    const background = Promise.all([
      scheduleLoop(storage, config, resources, log, stop, outbox),
      sealLoop(storage, log, stop),
      outbox ? deliveryLoop(outbox, log, stop) : undefined,
    ])
    log.info({ signal: await stop }, 'stopping')
    await app.close()
    await background
    return 0
  } finally {
    await consumer?.stop().catch(() => {})
    await producer?.disconnect().catch(() => {})
    // The last heads signed: the next run writes chains of its own.
    await written?.integrity?.checkpointer?.close().catch(() => {})
    await storage.close()
  }
}
