/**
 * The agent's usage history at MCP server A, emitted with backdated `occurred_at` (said so in the
 * output): `token-usage-spike` scores an hour against the client's earlier hours and needs a day of
 * them (its `minHistoryIntervals`). These are contract events as MCP server A's collector records
 * them: tool calls with validated, accepted, hourly tokens.
 */
import { randomUUID } from 'node:crypto'
import type { Emitter } from '../collectors/types.js'
import { fingerprintToken } from '../events/fingerprint.js'
import type { AuditEventInput } from '../events/schema.js'
import { AGENT, MCP_A } from './scenario.js'

const HOUR_MS = 3_600_000
/** Hours of history before the current hour (the rule needs 24). */
export const HISTORY_HOURS = 30
/** Calls per hour: about 40, varying by a few (a MAD of about 3). */
const VARIATION = [0, 3, -2, 4, -3, 1, -4, 2, 5, -1, -5, 3]
const PER_HOUR = 40

export interface HistoryResult {
  events: number
  from: string
  to: string
}

/** Emits the history; the hour holding `now` and later are left alone. */
export function emitHistory(emitter: Emitter, issuer: string, now = Date.now()): HistoryResult {
  const currentHour = Math.floor(now / HOUR_MS) * HOUR_MS
  const first = currentHour - HISTORY_HOURS * HOUR_MS
  let events = 0
  for (let h = 0; h < HISTORY_HOURS; h += 1) {
    const hourStart = first + h * HOUR_MS
    const calls = PER_HOUR + VARIATION[h % VARIATION.length]!
    const jti = `history-${randomUUID()}`
    const iat = Math.floor(hourStart / 1000)
    const token = {
      jti,
      fingerprint: fingerprintToken(jti),
      iat,
      exp: iat + 3000,
      aud: [MCP_A],
      scopes: ['tools:call'],
      format: 'jwt' as const,
    }
    for (let i = 0; i < calls; i += 1) {
      emitter.emit(
        presentation(token, issuer, hourStart + Math.floor(((i + 0.5) * 2_700_000) / calls)),
      )
      events += 1
    }
  }
  return {
    events,
    from: new Date(first).toISOString(),
    to: new Date(currentHour).toISOString(),
  }
}

function presentation(
  token: { jti: string; fingerprint: string; iat: number; exp: number; aud: string[] },
  issuer: string,
  at: number,
): AuditEventInput {
  return {
    schema_version: 1,
    event_id: randomUUID(),
    event_type: 'token.presented',
    occurred_at: new Date(at).toISOString(),
    source: { kind: 'mcp_server', id: 'mcp-a' },
    issuer,
    client_id: AGENT.id,
    subject: AGENT.id,
    token: { ...token, format: 'jwt', scopes: ['tools:call'] },
    network: { ip: '127.0.0.1' },
    resource: MCP_A,
    presented_aud: token.aud,
    aud_validated: true,
    decision: 'accepted',
    reason: 'ok',
    tool: { method: 'tools/call', name: 'read_file' },
    http: { method: 'POST', path: '/mcp', status: 200 },
  }
}
