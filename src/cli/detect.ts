/**
 * `audtrail detect`: the scheduled rules every AUDTRAIL_DETECT_INTERVAL_S, the report's sealing job
 * every hour and the delivery of the alert outbox (run exactly one), until a signal.
 */
import type { Producer } from 'kafkajs'
import type { Config } from '../config.js'
import { createKafka } from '../transport/kafka.js'
import { alertOutbox, deliveryLoop, scheduleLoop, sealLoop } from './detection.js'
import { logger, openStorage, prepareStorage, registry, shutdownSignal } from './runtime.js'

export async function runDetect(config: Config): Promise<number> {
  const log = logger(config, 'audtrail-detect')
  const storage = openStorage(config)
  let producer: Producer | undefined
  try {
    await prepareStorage(storage, config, log)
    if (config.kafka) {
      producer = createKafka({
        brokers: config.kafka.brokers,
        clientId: 'audtrail-detect',
        logger: log,
      }).producer()
      await producer.connect()
    }
    const stop = shutdownSignal()
    const outbox = alertOutbox(storage, config, log, producer)
    await Promise.all([
      scheduleLoop(storage, config, registry(config), log, stop, outbox),
      sealLoop(storage, log, stop),
      outbox ? deliveryLoop(outbox, log, stop) : undefined,
    ])
    log.info({ signal: await stop }, 'stopped')
    return 0
  } finally {
    await producer?.disconnect().catch(() => {})
    await storage.close()
  }
}
