/** Benchmark events: benign, valid token.presented events over clients, resources and tokens. */
import { randomUUID } from 'node:crypto'

const RESOURCES = Array.from({ length: 20 }, (_, i) => `https://mcp-${i}.example.com/mcp`)

export function benchEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const n = Math.floor(Math.random() * 1e9)
  // Issued a minute ago for an hour: a benign presentation (fixed times went past their expiry
  // as the calendar moved on, and every event became an expired token accepted, a finding).
  const iat = Math.floor(Date.now() / 1000) - 60
  const resource = RESOURCES[n % RESOURCES.length]!
  const aud = n % 97 === 0 ? RESOURCES[(n + 1) % RESOURCES.length]! : resource
  return {
    schema_version: 1,
    event_id: randomUUID(),
    event_type: 'token.presented',
    occurred_at: new Date().toISOString(),
    tenant: 'bench',
    source: { kind: 'mcp_server', id: `mcp-${n % RESOURCES.length}` },
    issuer: 'https://as.example.com',
    client_id: `agent-${n % 50}`,
    subject: `user-${n % 1000}`,
    token: {
      jti: `at-${n % 100_000}`,
      iat,
      exp: iat + 3600,
      aud: [aud],
      format: 'jwt',
    },
    resource,
    presented_aud: [aud],
    aud_validated: true,
    decision: aud === resource ? 'accepted' : 'rejected',
    reason: aud === resource ? 'ok' : 'aud_mismatch',
    tool: { method: 'tools/call', name: `tool_${n % 10}` },
    http: { method: 'POST', path: '/mcp', status: aud === resource ? 200 : 401 },
    network: { ip: `10.0.${n % 256}.${(n >> 8) % 256}` },
    ...overrides,
  }
}
