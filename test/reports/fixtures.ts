/** Report tests' events: contract events of every kind at given times, stored (and detected) for real. */
import { randomUUID } from 'node:crypto'
import { createStreamingDetector } from '../../src/detection/engine.js'
import { createFindingsStore } from '../../src/detection/findings-store.js'
import { RULES } from '../../src/detection/rules/index.js'
import { parseEvent } from '../../src/events/parse.js'
import { createLogger } from '../../src/logger.js'
import type { ClickHouseStorage } from '../../src/storage/client.js'
import { toEventRow, type EventRow } from '../../src/events/event-row.js'
import { insertEventRows } from '../../src/storage/events-store.js'
import { presentedEvent } from '../helpers/events.js'

export type Event = Record<string, unknown>

export const MCP = 'https://mcp.example.com/mcp'
export const API = 'https://api.example.com'

const base = (tenant: string, at: string) => ({
  schema_version: 1,
  event_id: randomUUID(),
  occurred_at: at,
  tenant,
  issuer: 'https://as.example.com',
  client_id: 'agent-7',
  subject: 'user-42',
})

export function presented(tenant: string, at: string, overrides: Event = {}): Event {
  return presentedEvent({ ...base(tenant, at), ...overrides })
}

export function issued(tenant: string, at: string, overrides: Event = {}): Event {
  return {
    ...base(tenant, at),
    event_type: 'token.issued',
    source: { kind: 'authorization_server', id: 'as' },
    grant_type: 'authorization_code',
    requested_resources: [MCP],
    granted_aud: [MCP],
    requested_scopes: ['files:read'],
    granted_scopes: ['files:read'],
    token: { jti: `at-${randomUUID()}`, iat: 1_790_000_000, exp: 1_790_003_600, aud: [MCP] },
    ...overrides,
  }
}

export function authorizationRequested(tenant: string, at: string, overrides: Event = {}): Event {
  return {
    ...base(tenant, at),
    event_type: 'authorization.requested',
    source: { kind: 'authorization_server', id: 'as' },
    requested_resources: [MCP],
    requested_scopes: ['files:read'],
    ...overrides,
  }
}

export function toRows(events: readonly Event[]): EventRow[] {
  return events.map((e) => {
    const parsed = parseEvent(e)
    if (!parsed.ok) throw new Error(`${JSON.stringify(e)}: ${parsed.reasons.join('; ')}`)
    return toEventRow(parsed.event, { receivedAt: Date.parse(String(e.occurred_at)) })
  })
}

/** Store the events and, with `detect`, run every streaming rule over them (findings for real). */
export async function seed(
  storage: ClickHouseStorage,
  events: readonly Event[],
  options: { detect?: boolean } = {},
): Promise<EventRow[]> {
  const rows = toRows(events)
  await insertEventRows(storage, rows)
  if (options.detect) {
    const detector = createStreamingDetector({
      rules: RULES,
      store: createFindingsStore(storage),
      logger: createLogger('silent'),
    })
    await detector.process(rows)
  }
  return rows
}
