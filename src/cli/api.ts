/** `audtrail api`: the query API alone (no ingest, no detection), until a signal. */
import { buildApp } from '../api/app.js'
import type { Config } from '../config.js'
import { Metrics } from '../metrics.js'
import { checkpointTrustedKeys } from '../integrity/runtime.js'
import {
  authenticator,
  consoleOptions,
  logger,
  openStorage,
  prepareStorage,
  reportSigningKey,
  reportThresholds,
  shutdownSignal,
} from './runtime.js'

export async function runApi(config: Config, print: (line: string) => void): Promise<number> {
  const log = logger(config, 'audtrail-api')
  const authenticate = authenticator(config, log)
  const storage = openStorage(config)
  try {
    await prepareStorage(storage, config, log)
    const app = await buildApp({
      logger: log,
      authenticate,
      metrics: new Metrics(),
      readiness: async () => ({ storage: await storage.ping() }),
      storage,
      reportSigningKey: reportSigningKey(config),
      reportThresholds: reportThresholds(config),
      console: consoleOptions(config),
      publicUrl: config.publicUrl,
      integrityKeys: await checkpointTrustedKeys(config),
    })
    const address = await app.listen({ host: config.host, port: config.port })
    print(`audtrail api: listening on ${address} (${storage.mode} ClickHouse)`)
    print(`audtrail api: analyst console at ${address}/ (API reference at ${address}/docs)`)
    log.info({ signal: await shutdownSignal() }, 'stopping')
    await app.close()
    return 0
  } finally {
    await storage.close()
  }
}
