/**
 * Alert channels: a generic webhook (JSON, HMAC-SHA256 signature), a Slack incoming webhook, and
 * the Kafka topic `audtrail.findings.v1` (OCSF Detection Finding). Each delivers one alert and
 * throws on failure; retries belong to the outbox.
 */
import { createHmac } from 'node:crypto'
import type { Producer } from 'kafkajs'
import { FINDINGS_TOPIC } from '../events/topics.js'
import { toOcsf, toSlack, type Alert } from './formats.js'

export type Channel = 'webhook' | 'slack' | 'kafka'

export interface Notifier {
  channel: Channel
  deliver(alert: Alert): Promise<void>
}

/**
 * `X-Audtrail-Signature: sha256=<hex>` over `<timestamp>.<body>` with the shared secret, and the
 * timestamp in `X-Audtrail-Timestamp`, so a receiver can refuse replays of old deliveries.
 */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}

async function post(url: string, body: string, headers: Record<string, string>): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  })
  await response.body?.cancel().catch(() => {})
  if (response.status < 200 || response.status >= 300) throw new Error(`HTTP ${response.status}`)
}

export function webhookNotifier(url: string, secret?: string): Notifier {
  return {
    channel: 'webhook',
    async deliver(alert) {
      const body = JSON.stringify(alert)
      const timestamp = String(Math.floor(Date.now() / 1000))
      await post(url, body, {
        'x-audtrail-alert-id': alert.alert_id,
        'x-audtrail-timestamp': timestamp,
        ...(secret ? { 'x-audtrail-signature': signWebhook(secret, timestamp, body) } : {}),
      })
    },
  }
}

export function slackNotifier(url: string): Notifier {
  return {
    channel: 'slack',
    deliver: (alert) => post(url, JSON.stringify(toSlack(alert)), {}),
  }
}

export function kafkaNotifier(producer: Producer, topic = FINDINGS_TOPIC): Notifier {
  return {
    channel: 'kafka',
    async deliver(alert) {
      await producer.send({
        topic,
        acks: -1,
        messages: [
          {
            key: alert.finding_id,
            value: JSON.stringify(toOcsf(alert)),
            headers: { 'audtrail-alert-id': alert.alert_id, 'audtrail-rule-id': alert.rule_id },
          },
        ],
      })
    },
  }
}
