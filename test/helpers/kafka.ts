/** The broker `npm test` started (a real Apache Kafka on loopback) and per-test topics. */
import { randomUUID } from 'node:crypto'
import { Kafka, logLevel } from 'kafkajs'
import { createLogger } from '../../src/logger.js'
import { createKafka } from '../../src/transport/kafka.js'

export const BROKERS = (process.env.AUDTRAIL_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')

export function testKafka(brokers = BROKERS): Kafka {
  return new Kafka({ clientId: 'audtrail-test', brokers, logLevel: logLevel.NOTHING })
}

export function pipelineKafka(brokers = BROKERS): Kafka {
  return createKafka({
    brokers,
    clientId: 'audtrail-test-pipeline',
    logger: createLogger('silent'),
  })
}

export async function createTopic(
  kafka: Kafka,
  partitions = 3,
  prefix = 'audtrail.test',
): Promise<string> {
  const topic = `${prefix}.${randomUUID()}`
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({
    topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
    waitForLeaders: true,
  })
  await admin.disconnect()
  return topic
}

/** Sum of committed offsets of a group on a topic (-1 for "none" counts as 0). */
export async function committed(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] })
    return (t?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0)
  } finally {
    await admin.disconnect()
  }
}

export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}
