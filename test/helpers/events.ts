/** Contract events for tests: a valid token.presented event with a fresh id, and variants. */
import { randomUUID } from 'node:crypto'
import { fingerprintToken } from '../../src/events/fingerprint.js'
import { parseEvent } from '../../src/events/index.js'
import { toEventRow, type EventRow } from '../../src/events/event-row.js'

export function presentedEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const n = Math.floor(Math.random() * 1e9)
  // Issued a minute ago, valid for an hour: fixed times expired on 2026-11-22, after which every
  // event of every test presented an expired token (expired-token-accepted on each).
  const now = Math.floor(Date.now() / 1000)
  return {
    schema_version: 1,
    event_id: randomUUID(),
    event_type: 'token.presented',
    occurred_at: new Date().toISOString(),
    tenant: 'acme',
    source: { kind: 'mcp_server', id: 'files-mcp' },
    issuer: 'https://as.example.com',
    client_id: 'agent-7',
    subject: 'user-42',
    token: {
      jti: `at-${n}`,
      fingerprint: fingerprintToken(`token-${n}`),
      iat: now - 60,
      exp: now + 3600,
      aud: ['https://mcp.example.com/mcp'],
      format: 'jwt',
    },
    resource: 'https://mcp.example.com/mcp',
    presented_aud: ['https://mcp.example.com/mcp'],
    aud_validated: true,
    decision: 'accepted',
    reason: 'ok',
    tool: { method: 'tools/call', name: 'read_file' },
    http: { method: 'POST', path: '/mcp', status: 200 },
    ...overrides,
  }
}

/** The stored row of a presentedEvent, as the pipeline makes it (received now). */
export function presentedRow(overrides: Record<string, unknown> = {}): EventRow {
  const result = parseEvent(presentedEvent(overrides))
  if (!result.ok) throw new Error(result.reasons.join('; '))
  return toEventRow(result.event, { receivedAt: Date.now() })
}
