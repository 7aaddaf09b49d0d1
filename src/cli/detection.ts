/** The detection parts the long-running commands share: streaming detector and scheduler loop. */
import type { Config } from '../config.js'
import { createStreamingDetector, type StreamingDetector } from '../detection/engine.js'
import { createExceptionMatcher } from '../detection/exceptions.js'
import { createFindingsStore } from '../detection/findings-store.js'
import { RULES } from '../detection/rules/index.js'
import { runScheduledRules } from '../detection/scheduler.js'
import type { Logger } from '../logger.js'
import type { ResourceRegistry } from '../resource-registry.js'
import type { Storage } from '../storage/client.js'

/** How far back a restarted detector rebuilds token state (tokens rarely live longer). */
const WARM_UP_WINDOW_S = 3600

export async function streamingDetector(
  storage: Storage,
  registry: ResourceRegistry | undefined,
  log: Logger,
): Promise<StreamingDetector> {
  const detector = createStreamingDetector({
    rules: RULES,
    store: createFindingsStore(storage),
    exceptions: createExceptionMatcher(storage),
    registry,
    logger: log,
  })
  const rows = await detector.warmUp(storage, WARM_UP_WINDOW_S)
  log.info({ rows, tokens: detector.states }, 'detector state rebuilt')
  return detector
}

/** Run scheduled rules every AUDTRAIL_DETECT_INTERVAL_S until `stop` resolves. */
export async function scheduleLoop(
  storage: Storage,
  config: Config,
  registry: ResourceRegistry | undefined,
  log: Logger,
  stop: Promise<unknown>,
): Promise<void> {
  const store = createFindingsStore(storage)
  const exceptions = createExceptionMatcher(storage)
  let stopped = false
  void stop.then(() => (stopped = true))
  while (!stopped) {
    const windows = await runScheduledRules({
      storage,
      rules: RULES,
      store,
      exceptions,
      registry,
      logger: log,
    })
    const findings = windows.reduce((n, w) => n + w.findings.length, 0)
    if (findings > 0) log.info({ windows: windows.length, findings }, 'scheduled rules ran')
    await Promise.race([
      stop,
      new Promise((r) => setTimeout(r, config.detectIntervalS * 1000).unref()),
    ])
  }
}
