/** HTTP ingest over Kafka: the accepted events to the events topic, the refused ones to the DLQ. */
import type { Producer } from 'kafkajs'
import { tokenKey } from '../events/token-key.js'
import { DLQ_TOPIC } from '../events/topics.js'
import { dlqMessage } from '../pipeline/dlq.js'
import { asBuffer } from '../pipeline/body.js'
import type { IngestTarget } from '../pipeline/ingest.js'
import type { EventSink } from '../pipeline/sink.js'
import { sendAll } from './kafka.js'

/**
 * Valid events to the events topic (keyed by token key); rejected ones to the DLQ and storage.
 * Duplicates are dropped by the consumer, after the answer: every valid event is `accepted` here.
 */
export function kafkaTarget(producer: Producer, topic: string, sink?: EventSink): IngestTarget {
  return {
    async write(accepted, rejected) {
      await sendAll(
        producer,
        topic,
        accepted.map(({ event }) => ({
          key: tokenKey(event.token)?.key ?? event.event_id,
          value: JSON.stringify(event),
        })),
      )
      if (rejected.length === 0) return
      await sendAll(
        producer,
        DLQ_TOPIC,
        rejected.map((r) =>
          dlqMessage(typeof r.payload === 'string' ? r.payload : asBuffer(r.payload), r.row),
        ),
      )
      if (sink) await sink.write({ rows: [], rejected: rejected.map((r) => r.row) })
    },
  }
}
