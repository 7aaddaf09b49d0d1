/** The API under test: tokens from `keys` authenticate, logs are silent, metrics fresh. */
import { buildApp, type AppDeps } from '../../src/api/app.js'
import { createAuthenticator } from '../../src/api/auth.js'
import { createLogger } from '../../src/logger.js'
import { Metrics, pipelineMetrics } from '../../src/metrics.js'
import { sinkTarget } from '../../src/pipeline/ingest.js'
import type { MemorySink } from '../../src/pipeline/memory-sink.js'
import { API_AUDIENCE, API_ISSUER, type apiKeys } from './api-tokens.js'

export function testApp(keys: Awaited<ReturnType<typeof apiKeys>>, deps: Partial<AppDeps> = {}) {
  return buildApp({
    logger: createLogger('silent'),
    authenticate: createAuthenticator({
      keys: keys.keys,
      issuer: API_ISSUER,
      audience: API_AUDIENCE,
    }),
    metrics: new Metrics(),
    readiness: async () => ({}),
    ...deps,
  })
}

/** What `serve` gives the API for HTTP ingest without Kafka: `sink` stores, metrics of its own. */
export function memoryIngest(sink: MemorySink): Partial<AppDeps> {
  const metrics = new Metrics()
  return {
    metrics,
    readiness: async () => ({ storage: await sink.ping() }),
    ingest: { target: sinkTarget(sink), retentionDays: 400, pipeline: pipelineMetrics(metrics) },
  }
}
