/** The detection parts the long-running commands share: streaming detector and scheduler loop. */
import type { Producer } from 'kafkajs'
import {
  kafkaNotifier,
  slackNotifier,
  webhookNotifier,
  type Channel,
  type Notifier,
} from '../alerting/notifiers.js'
import { createOutbox, type Outbox } from '../alerting/outbox.js'
import type { Config } from '../config.js'
import {
  createStreamingDetector,
  type StreamingDetector,
  type TokenStates,
} from '../detection/engine.js'
import { createExceptionMatcher } from '../detection/exceptions.js'
import { createFindingsStore } from '../detection/findings-store.js'
import { RULES } from '../detection/rules/index.js'
import { runScheduledRules } from '../detection/scheduler.js'
import { expiredTokenAccepted } from '../detection/rules/expired-token-accepted.js'
import type { Logger } from '../logger.js'
import type { ResourceRegistry } from '../resource-registry.js'
import type { Storage } from '../storage/client.js'
import { sealAllTenants } from '../storage/report-seal.js'

/** How far back a restarted detector rebuilds token state (tokens rarely live longer). */
const WARM_UP_WINDOW_S = 3600

/**
 * The consumer's restoreStates: the token state a restarted detector would rebuild, for a
 * validation worker started after one died.
 */
export function storedStates(
  detector: StreamingDetector,
  storage: Storage,
): () => Promise<TokenStates> {
  return () => detector.storedStates(storage, WARM_UP_WINDOW_S)
}

/**
 * The configured alert channels, or undefined when none is configured. The Kafka channel exists
 * when Kafka is the transport; it delivers only where a connected producer is given (detect,
 * serve), so a consumer queues alerts for it without delivering them.
 */
export function alertOutbox(
  storage: Storage,
  config: Config,
  log: Logger,
  producer?: Producer,
): Outbox | undefined {
  const notifiers: Notifier[] = []
  const { webhookUrl, webhookSecret, slackWebhookUrl, minSeverity } = config.alerts
  if (webhookUrl) notifiers.push(webhookNotifier(webhookUrl, webhookSecret))
  if (slackWebhookUrl) notifiers.push(slackNotifier(slackWebhookUrl))
  if (producer) notifiers.push(kafkaNotifier(producer))
  const channels: Channel[] = notifiers.map((n) => n.channel)
  if (config.kafka && !producer) channels.push('kafka')
  if (channels.length === 0) return undefined
  return createOutbox({
    storage,
    notifiers,
    channels,
    minSeverity,
    logger: log.child({ component: 'alerts' }),
    publicUrl: config.publicUrl,
  })
}

/** Deliver due alerts every few seconds until `stop` resolves. */
export async function deliveryLoop(
  outbox: Outbox,
  log: Logger,
  stop: Promise<unknown>,
): Promise<void> {
  let stopped = false
  void stop.then(() => (stopped = true))
  while (!stopped) {
    await outbox
      .deliverDue()
      .catch((err) => log.warn({ err: String(err) }, 'alert delivery pass failed'))
    await Promise.race([stop, new Promise((r) => setTimeout(r, 5000).unref())])
  }
}

export async function streamingDetector(
  storage: Storage,
  registry: ResourceRegistry | undefined,
  log: Logger,
  outbox?: Outbox,
): Promise<StreamingDetector> {
  const detector = createStreamingDetector({
    rules: RULES,
    store: createFindingsStore(storage),
    exceptions: createExceptionMatcher(storage),
    registry,
    logger: log,
    onFindings: outbox
      ? (findings) => {
          // Enqueueing is best effort here: a failure is logged, the findings are stored anyway.
          outbox
            .enqueue(findings)
            .catch((err) => log.warn({ err: String(err) }, 'alert enqueue failed'))
        }
      : undefined,
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
  outbox?: Outbox,
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
    const findings = windows.flatMap((w) => w.findings)
    if (findings.length > 0) {
      log.info({ windows: windows.length, findings: findings.length }, 'scheduled rules ran')
      await outbox
        ?.enqueue(findings)
        .catch((err) => log.warn({ err: String(err) }, 'alert enqueue failed'))
    }
    await Promise.race([
      stop,
      new Promise((r) => setTimeout(r, config.detectIntervalS * 1000).unref()),
    ])
  }
}

/** How often the report's sealing job looks for days to seal (it seals a day once it is past). */
export const SEAL_INTERVAL_MS = 3_600_000

/**
 * The compliance report's sealing job (docs/design/report-performance.md, "Sealed days") every
 * hour until `stop` resolves, beside the scheduled rules and not in their loop: a first run over a
 * long history takes seconds per day sealed, and the rules must not wait for it. A report is
 * correct whether or not the job ran, only slower; a failure is logged and retried next time.
 */
export async function sealLoop(
  storage: Storage,
  log: Logger,
  stop: Promise<unknown>,
  intervalMs = SEAL_INTERVAL_MS,
): Promise<void> {
  let stopped = false
  void stop.then(() => (stopped = true))
  const clockSkewS = expiredTokenAccepted.params.parse({}).clockSkewS
  while (!stopped) {
    try {
      const { tenants } = await sealAllTenants(storage, { now: Date.now(), clockSkewS })
      for (const t of tenants) {
        if (t.error) log.warn({ tenant: t.tenant, err: t.error }, 'report days not sealed')
        else if (t.sealed.length > 0)
          log.info({ tenant: t.tenant, days: t.sealed.length }, 'report days sealed')
      }
    } catch (err) {
      log.warn({ err: String(err) }, 'report sealing pass failed')
    }
    await Promise.race([stop, new Promise((r) => setTimeout(r, intervalMs).unref())])
  }
}
