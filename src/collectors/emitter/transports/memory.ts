/** In-memory transport: appends every sent event, in order, to an array (tests, examples). */
import type { AuditEvent } from '../../../events/schema.js'
import type { Transport } from './types.js'

export interface MemoryTransport extends Transport {
  readonly events: AuditEvent[]
}

export function createMemoryTransport(config: { events?: AuditEvent[] } = {}): MemoryTransport {
  const events = config.events ?? []
  return {
    name: 'memory',
    events,
    async send(batch) {
      for (const item of batch) events.push(item.event)
    },
    async close() {},
  }
}
