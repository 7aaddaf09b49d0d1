import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toAlert, toOcsf, toSlack, type Alert } from '../../src/alerting/formats.js'
import { kafkaNotifier, signWebhook, webhookNotifier } from '../../src/alerting/notifiers.js'
import { createOutbox } from '../../src/alerting/outbox.js'
import type { RecordedFinding } from '../../src/detection/findings-store.js'
import { createLogger } from '../../src/logger.js'
import { toDateTime64 } from '../../src/events/event-row.js'
import { migrate } from '../../src/storage/migrate.js'
import { createTopic, testKafka, until } from '../helpers/kafka.js'
import { closeTestStorages, RETENTION, testStorage } from '../helpers/storage.js'

const storage = testStorage('alerts_it')
const SECRET = 'a-webhook-secret-for-tests'
let url = ''
let downFor = 0
const received: { body: string; headers: IncomingMessage['headers'] }[] = []
const server = createServer((req, res) => {
  let body = ''
  req.on('data', (d) => (body += d))
  req.on('end', () => {
    if (downFor > 0) {
      downFor -= 1
      res.writeHead(503).end()
      return
    }
    received.push({ body, headers: req.headers })
    res.writeHead(204).end()
  })
})

beforeAll(async () => {
  await migrate(storage, { retention: RETENTION })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
})
afterAll(async () => {
  server.close()
  await closeTestStorages()
})

function finding(id: string, severity: RecordedFinding['severity'], count = 1): RecordedFinding {
  const now = toDateTime64(Date.now())
  return {
    tenant: 'acme',
    finding_id: id,
    rule_id: 'aud-mismatch-accepted',
    severity,
    title: 'Audience mismatch accepted',
    keys: { token_key: 'at-1', resource: 'https://b.example <script>' },
    token_key: 'at-1',
    client_id: '',
    resource: 'https://b.example',
    evidence: JSON.stringify({ event_ids: ['e1', 'e2'] }),
    mappings: JSON.stringify({ owasp_nhi: ['NHI6'] }),
    first_seen: now,
    last_seen: now,
    count,
    updated_at: now,
    version: 1,
  }
}

const outbox = () =>
  createOutbox({
    storage,
    notifiers: [webhookNotifier(url, SECRET)],
    minSeverity: 'medium',
    logger: createLogger('silent'),
    initialRetryMs: 20,
    maxRetryMs: 100,
  })

describe('the alert outbox', () => {
  it('delivers every alert once the webhook comes back, across a restart, signed', async () => {
    received.length = 0
    downFor = 6
    const first = outbox()
    expect(await first.enqueue([finding('f1', 'critical'), finding('f2', 'high')])).toBe(2)
    for (let i = 0; i < 3; i++) {
      await first.deliverDue()
      await new Promise((r) => setTimeout(r, 120))
    }
    // A new process: nothing in memory, everything in the outbox.
    const restarted = outbox()
    for (let i = 0; i < 20 && received.length < 2; i++) {
      await restarted.deliverDue()
      await new Promise((r) => setTimeout(r, 120))
    }
    expect(received.map((r) => (JSON.parse(r.body) as Alert).finding_id).sort()).toEqual([
      'f1',
      'f2',
    ])
    for (const r of received) {
      const timestamp = r.headers['x-audtrail-timestamp'] as string
      expect(r.headers['x-audtrail-signature']).toBe(signWebhook(SECRET, timestamp, r.body))
    }
    // Delivered alerts are not sent again.
    await restarted.deliverDue()
    expect(received).toHaveLength(2)
  })

  it('routes by minimum severity and throttles per finding, alerting again when severity rises', async () => {
    received.length = 0
    downFor = 0
    const box = outbox()
    expect(await box.enqueue([finding('f3', 'low')])).toBe(0)
    await box.enqueue([finding('f4', 'medium')])
    await box.enqueue([finding('f4', 'medium', 2)])
    await box.deliverDue()
    expect(received).toHaveLength(1)
    await box.enqueue([finding('f4', 'critical', 3)])
    await box.deliverDue()
    expect(received.map((r) => (JSON.parse(r.body) as Alert).severity)).toEqual([
      'medium',
      'critical',
    ])
  })
})

describe('alert formats', () => {
  const alert: Alert = {
    alert_id: 'a1',
    tenant: 'acme',
    finding_id: 'f1',
    rule_id: 'aud-mismatch-accepted',
    severity: 'critical',
    title: 'Audience mismatch accepted',
    count: 3,
    first_seen: '2026-11-22T10:00:00.000Z',
    last_seen: '2026-11-22T10:05:00.000Z',
    keys: { token_key: 'at-1', resource: '<https://evil|click>' },
    evidence: { event_ids: ['e1', 'e2'] },
    mappings: {},
  }

  it('renders Slack text with mrkdwn control characters escaped', () => {
    const slack = JSON.stringify(toSlack(alert))
    expect(slack).toContain('[CRITICAL] Audience mismatch accepted')
    expect(slack).not.toContain('<https://evil|click>')
    expect(slack).toContain('&lt;https://evil|click&gt;')
  })

  it('renders an OCSF 1.8.0 Detection Finding (class 2004, Update after the first)', () => {
    expect(toOcsf(alert)).toMatchObject({
      category_uid: 2,
      class_uid: 2004,
      activity_id: 2,
      type_uid: 200402,
      severity_id: 5,
      finding_info: {
        uid: 'f1',
        analytic: { uid: 'aud-mismatch-accepted', type_id: 1 },
        related_events: [{ uid: 'e1' }, { uid: 'e2' }],
        first_seen_time: Date.parse('2026-11-22T10:00:00.000Z'),
      },
      metadata: { version: '1.8.0' },
    })
    expect(toOcsf({ ...alert, count: 1 })).toMatchObject({ activity_id: 1, type_uid: 200401 })
  })
})

describe('the Kafka channel', () => {
  it('publishes an OCSF Detection Finding keyed by finding id', async () => {
    const kafka = testKafka()
    const topic = await createTopic(kafka, 1)
    const producer = kafka.producer()
    await producer.connect()
    await kafkaNotifier(producer, topic).deliver(toAlert('a9', finding('f9', 'high')))
    await producer.disconnect()
    const seen: { key: string; value: Record<string, unknown> }[] = []
    const consumer = kafka.consumer({ groupId: `g-${topic}` })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push({ key: message.key!.toString(), value: JSON.parse(message.value!.toString()) })
      },
    })
    await until(async () => seen.length > 0, 'the finding on the topic')
    await consumer.disconnect()
    expect(seen[0]).toMatchObject({ key: 'f9', value: { class_uid: 2004, severity_id: 4 } })
  })
})

describe('an outbox that only enqueues', () => {
  it('queues alerts for channels it cannot deliver, leaving them to a process that can', async () => {
    received.length = 0
    const enqueueOnly = createOutbox({
      storage,
      notifiers: [],
      channels: ['webhook'],
      minSeverity: 'medium',
      logger: createLogger('silent'),
    })
    expect(await enqueueOnly.enqueue([finding('f-eo', 'high')])).toBe(1)
    expect(await enqueueOnly.deliverDue()).toBe(0)
    expect(await outbox().deliverDue()).toBe(1)
    expect(received.map((r) => (JSON.parse(r.body) as Alert).finding_id)).toEqual(['f-eo'])
  })
})
