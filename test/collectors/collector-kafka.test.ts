import { randomUUID } from 'node:crypto'
import { Kafka, logLevel } from 'kafkajs'
import { afterAll, describe, expect, it } from 'vitest'
import { createEmitter } from '../../src/collectors/emitter/index.js'
import { audtrailExpress } from '../../src/collectors/express.js'
import { fingerprintToken } from '../../src/events/fingerprint.js'
import { parseEvent } from '../../src/events/parse.js'
import type { TokenPresentedEvent } from '../../src/events/schema.js'
import { ISSUER, mint, signingKey } from './rs/fixtures.js'
import { listen, mcpApp, mcpSession, type Listening } from './rs/mcp-peer.js'

// The broker `npm test` started (or reused): a real Apache Kafka on loopback.
const brokers = (process.env.AUDTRAIL_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
const kafka = new Kafka({
  clientId: 'audtrail-collector-test',
  brokers,
  logLevel: logLevel.NOTHING,
})
const admin = kafka.admin()
const topic = `audtrail.test.collector.${randomUUID()}`
const MCP = 'https://mcp-a.example/mcp'
let server: Listening | undefined

afterAll(async () => {
  await server?.close()
  await admin.deleteTopics({ topics: [topic] }).catch(() => {})
  await admin.disconnect()
})

describe('the Express collector emitting through the Kafka transport', () => {
  it('delivers one token.presented per MCP request to the topic, keyed by the token jti', async () => {
    await admin.connect()
    await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
      waitForLeaders: true,
    })
    const emitter = createEmitter({
      transport: { type: 'kafka', brokers, topic },
      flushIntervalMs: 50,
      closeOnExit: false,
    })
    const key = await signingKey('k1')
    server = await listen(
      mcpApp(
        audtrailExpress({
          resource: MCP,
          issuer: ISSUER,
          jwks: { keys: [key.publicJwk] },
          mode: 'enforce',
          emitter,
          source: { kind: 'mcp_server', id: 'mcp-a' },
          protect: '/mcp',
        }),
      ),
    )
    const token = await mint({ key, claims: { aud: MCP, jti: 'kafka-jti-1' } })
    const stranger = await mint({
      key,
      claims: { aud: 'https://api-b.example', jti: 'kafka-jti-2' },
    })
    await mcpSession(server.url, token)
    await expect(mcpSession(server.url, stranger)).rejects.toThrow()
    await emitter.close()
    const stats = emitter.stats()
    expect(stats).toMatchObject({ dropped: 0, failures: 0 })
    expect(stats.sent).toBe(stats.emitted)

    const consumer = kafka.consumer({ groupId: `audtrail-collector-test-${randomUUID()}` })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const received: { key: string; event: TokenPresentedEvent }[] = []
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            const result = parseEvent(JSON.parse(message.value!.toString('utf8')))
            if (!result.ok) return reject(new Error(result.reasons.join('; ')))
            received.push({
              key: message.key!.toString(),
              event: result.event as TokenPresentedEvent,
            })
            if (received.length >= stats.sent) resolve()
          },
        })
        .catch(reject)
    })
    await consumer.disconnect()

    expect(new Set(received.map((r) => r.event.event_id)).size).toBe(stats.sent)
    const calls = received.filter((r) => r.event.tool?.method === 'tools/call')
    expect(calls.map((r) => r.event.tool?.name).sort()).toEqual(['echo', 'whoami'])
    for (const { key: k, event } of calls) {
      expect(k).toBe('kafka-jti-1')
      expect(event).toMatchObject({
        resource: MCP,
        presented_aud: [MCP],
        decision: 'accepted',
        token: { jti: 'kafka-jti-1', fingerprint: fingerprintToken(token) },
      })
    }
    const rejected = received.filter((r) => r.event.decision === 'rejected')
    expect(rejected.length).toBeGreaterThan(0)
    for (const { key: k, event } of rejected) {
      expect(k).toBe('kafka-jti-2')
      expect(event).toMatchObject({
        reason: 'aud_mismatch',
        presented_aud: ['https://api-b.example'],
      })
    }
    const wire = received.map((r) => JSON.stringify(r.event)).join('\n')
    for (const t of [token, stranger]) expect(wire).not.toContain(t)
  })
})
