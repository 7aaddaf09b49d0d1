/** Builders of the plain contract events rule examples are written with (stable ids, one clock). */
import { createHash } from 'node:crypto'

export const BASE_TIME = '2026-11-22T10:00:00.000Z'
export const BASE_EPOCH_S = Date.parse(BASE_TIME) / 1000
export const ISSUER = 'https://as.example.com'
export const MCP = 'https://mcp.example.com/mcp'
export const API = 'https://api.example.com/v1'

type Fields = Record<string, unknown>

/** RFC 3339 UTC time `seconds` after the base time. */
export function at(seconds: number): string {
  return new Date(Date.parse(BASE_TIME) + seconds * 1000).toISOString()
}

/** A token object: a JWT for `MCP`, 15 minutes long, issued at the base time. */
export function token(overrides: Fields = {}): Fields {
  return {
    jti: 'at-1',
    iat: BASE_EPOCH_S,
    exp: BASE_EPOCH_S + 900,
    aud: [MCP],
    scopes: ['files:read'],
    format: 'jwt',
    ...overrides,
  }
}

export interface ExampleEvents {
  authorization(overrides?: Fields): Fields
  issued(overrides?: Fields): Fields
  exchanged(overrides?: Fields): Fields
  presented(overrides?: Fields): Fields
}

/** Event builders whose ids are stable: derived from `seed` (the rule id) and a counter. */
export function exampleEvents(seed: string): ExampleEvents {
  let n = 0
  const id = () => {
    const h = createHash('sha256').update(`${seed}#${n++}`).digest('hex')
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
  }
  const common = (type: string, kind: string, sourceId: string): Fields => ({
    schema_version: 1,
    event_id: id(),
    event_type: type,
    occurred_at: BASE_TIME,
    tenant: 'acme',
    source: { kind, id: sourceId },
    issuer: ISSUER,
    client_id: 'agent-7',
    subject: 'user-42',
    network: { ip: '203.0.113.7' },
  })
  return {
    authorization: (o = {}) => ({
      ...common('authorization.requested', 'authorization_server', 'as-1'),
      requested_resources: [MCP],
      requested_scopes: ['files:read'],
      ...o,
    }),
    issued: (o = {}) => ({
      ...common('token.issued', 'authorization_server', 'as-1'),
      token: token(),
      grant_type: 'authorization_code',
      requested_resources: [MCP],
      granted_aud: [MCP],
      requested_scopes: ['files:read'],
      granted_scopes: ['files:read'],
      ...o,
    }),
    exchanged: (o = {}) => ({
      ...common('token.exchanged', 'authorization_server', 'as-1'),
      token: token({ jti: 'at-x', aud: [API] }),
      subject_token: { jti: 'at-1' },
      requested_resources: [API],
      granted_aud: [API],
      ...o,
    }),
    presented: (o = {}) => ({
      ...common('token.presented', 'mcp_server', 'files-mcp'),
      occurred_at: at(5),
      token: token(),
      resource: MCP,
      presented_aud: [MCP],
      aud_validated: true,
      decision: 'accepted',
      reason: 'ok',
      tool: { method: 'tools/call', name: 'read_file' },
      http: { method: 'POST', path: '/mcp', status: 200 },
      ...o,
    }),
  }
}

/** A `tools/call` whose body calls `name` and whose Mcp-Method / Mcp-Name headers say `headerName`. */
export function toolCall(name: string, headerName: string = name): Fields {
  return { method: 'tools/call', name, header_method: 'tools/call', header_name: headerName }
}
