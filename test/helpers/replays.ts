/**
 * The API tests' shared data: in each of two tenants (`acme`, `globex`), one token minted for
 * mcp-a (key `shared-key`) accepted without audience validation at mcp-b and at mcp-c, stored
 * and run through the streaming rules, so each tenant holds the same findings under the same
 * token key (what tenant isolation must keep apart).
 */
import { createStreamingDetector } from '../../src/detection/engine.js'
import { createFindingsStore } from '../../src/detection/findings-store.js'
import { RULES } from '../../src/detection/rules/index.js'
import { toEventRow } from '../../src/events/event-row.js'
import { parseEvent } from '../../src/events/parse.js'
import { createLogger } from '../../src/logger.js'
import type { ClickHouseStorage } from '../../src/storage/client.js'
import { insertEventRows } from '../../src/storage/events-store.js'
import { presentedEvent } from './events.js'

export const REPLAY_TENANTS = ['acme', 'globex'] as const
export const REPLAY_RESOURCES = ['https://mcp-b.example.com/mcp', 'https://mcp-c.example.com/mcp']

export async function seedSharedKeyReplays(
  storage: ClickHouseStorage,
  options: { clientId?: string } = {},
): Promise<void> {
  const detector = createStreamingDetector({
    rules: RULES,
    store: createFindingsStore(storage),
    logger: createLogger('silent'),
  })
  for (const tenant of REPLAY_TENANTS) {
    const rows = REPLAY_RESOURCES.map((resource) => {
      const parsed = parseEvent(
        presentedEvent({
          tenant,
          resource,
          ...(options.clientId === undefined ? {} : { client_id: options.clientId }),
          token: { jti: 'shared-key', aud: ['https://mcp-a.example.com/mcp'] },
          presented_aud: ['https://mcp-a.example.com/mcp'],
          aud_validated: false,
        }),
      )
      if (!parsed.ok) throw new Error(parsed.reasons.join('; '))
      return toEventRow(parsed.event, { receivedAt: Date.now() })
    })
    await insertEventRows(storage, rows)
    await detector.process(rows)
  }
}
