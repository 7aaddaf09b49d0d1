/**
 * Findings for the console tests, made by the real detector from stored events: per tenant, a
 * token for MCP server A presented there, then accepted by server B which does not check `aud`
 * (cross-audience-replay, critical), and a token presented with an audience mismatch.
 */
import { createStreamingDetector } from '../../src/detection/engine.js'
import { createFindingsStore } from '../../src/detection/findings-store.js'
import { RULES } from '../../src/detection/rules/index.js'
import { toEventRow } from '../../src/events/event-row.js'
import { parseEvent } from '../../src/events/parse.js'
import { createLogger } from '../../src/logger.js'
import type { ClickHouseStorage } from '../../src/storage/client.js'
import { insertEventRows } from '../../src/storage/events-store.js'
import { presentedEvent } from '../helpers/events.js'

export const MCP_A = 'https://mcp-a.example.com/mcp'
export const MCP_B = 'https://mcp-b.example.com/mcp'

function row(overrides: Record<string, unknown>) {
  const parsed = parseEvent(presentedEvent(overrides))
  if (!parsed.ok) throw new Error(parsed.reasons.join('; '))
  return toEventRow(parsed.event, { receivedAt: Date.now() })
}

/** Seeds `tenant` with a replayed token `replayKey` and a client `client`. */
export async function seedFindings(
  storage: ClickHouseStorage,
  tenant: string,
  options: { replayKey: string; client: string },
): Promise<void> {
  const detector = createStreamingDetector({
    rules: RULES,
    store: createFindingsStore(storage),
    logger: createLogger('silent'),
  })
  const base = Date.now() - 10 * 60_000
  const at = (s: number) => new Date(base + s * 1000).toISOString()
  const token = { jti: options.replayKey, aud: [MCP_A] }
  const rows = [
    row({
      tenant,
      client_id: options.client,
      occurred_at: at(0),
      resource: MCP_A,
      token,
      presented_aud: [MCP_A],
    }),
    row({
      tenant,
      client_id: options.client,
      occurred_at: at(30),
      resource: MCP_B,
      token,
      presented_aud: [MCP_A],
      aud_validated: false,
    }),
    row({
      tenant,
      client_id: options.client,
      occurred_at: at(60),
      resource: MCP_B,
      token,
      presented_aud: [MCP_A],
      aud_validated: false,
    }),
  ]
  await insertEventRows(storage, rows)
  await detector.process(rows)
}
