/** `audtrail detect`: the scheduled rules alone, every AUDTRAIL_DETECT_INTERVAL_S, until a signal. */
import type { Config } from '../config.js'
import { scheduleLoop } from './detection.js'
import { logger, openStorage, prepareStorage, registry, shutdownSignal } from './runtime.js'

export async function runDetect(config: Config): Promise<number> {
  const log = logger(config, 'audtrail-detect')
  const storage = openStorage(config)
  try {
    await prepareStorage(storage, config, log)
    const stop = shutdownSignal()
    await scheduleLoop(storage, config, registry(config), log, stop)
    log.info({ signal: await stop }, 'stopped')
    return 0
  } finally {
    await storage.close()
  }
}
