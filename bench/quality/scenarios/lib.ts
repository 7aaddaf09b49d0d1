/** What the scenario families share: contract events as the collectors write them, and habits. */
import type { FamilyContext, Rng, Server } from '../corpus.js'

export const HOUR = 3_600_000
export const MINUTE = 60_000

export interface Holder {
  client_id: string
  subject: string
}

export interface Token {
  jti: string
  iat: number
  exp: number
  aud: string[]
  scopes: string[]
}

/**
 * What the AS knows of the tokens it minted, for the exchanges' delegation attributes: the
 * `act` nesting depth and `may_act` (RFC 8693 §4.1, §4.4).
 */
const minted = new WeakMap<Token, { depth: number; mayAct?: unknown }>()

/** Issue a token at true time `t` (code exchange, refresh or client credentials). */
export function issue(
  ctx: FamilyContext,
  t: number,
  o: {
    holder: Holder
    ip: string
    grant: 'authorization_code' | 'refresh_token' | 'client_credentials'
    requested: string[]
    aud?: string[]
    scopes: string[]
    lifetimeS: number
    attributes?: Record<string, unknown>
    /** another authorization server than the world's */
    issuer?: string
  },
): Token {
  const times = ctx.tokenTimes(t, o.lifetimeS)
  const token: Token = {
    jti: ctx.id('at'),
    ...times,
    aud: o.aud ?? o.requested,
    scopes: o.scopes,
  }
  ctx.emit(
    {
      event_type: 'token.issued',
      source: { kind: 'authorization_server', id: 'as-1' },
      issuer: o.issuer ?? ctx.world.issuer,
      ...o.holder,
      network: { ip: o.ip },
      token: { ...token, format: 'jwt' },
      grant_type: o.grant,
      requested_resources: o.requested,
      granted_aud: token.aud,
      requested_scopes: o.scopes,
      granted_scopes: o.scopes,
      ...(o.attributes && { attributes: o.attributes }),
    },
    t,
    ctx.world.asSkewMs,
  )
  minted.set(token, { depth: 0, mayAct: o.attributes?.may_act })
  return token
}

export function authorize(
  ctx: FamilyContext,
  t: number,
  o: { holder: Holder; ip: string; requested: string[]; scopes: string[]; issuer?: string },
): void {
  ctx.emit(
    {
      event_type: 'authorization.requested',
      source: { kind: 'authorization_server', id: 'as-1' },
      issuer: o.issuer ?? ctx.world.issuer,
      ...o.holder,
      network: { ip: o.ip, user_agent: 'Mozilla/5.0' },
      requested_resources: o.requested,
      requested_scopes: o.scopes,
    },
    t,
    ctx.world.asSkewMs,
  )
}

/** What the server decides at true time `t`: its own clock against `exp`, with its leeway. */
export function serverAccepts(server: Server, token: Token, t: number): boolean {
  return (t + server.skewMs) / 1000 <= token.exp + server.leewayS
}

/** A presentation at `server` at true time `t`, decided as the server would. */
export function present(
  ctx: FamilyContext,
  t: number,
  o: {
    holder: Holder
    server: Server
    token: Token
    ip: string
    /** the raw resource the server is configured with (an alias, say) */
    resource?: string
    decision?: 'accepted' | 'rejected'
    reason?: string
    audValidated?: boolean
    tool?: Record<string, unknown>
    /** the caller's User-Agent (an MCP server's outbound client, say) */
    userAgent?: string
    /** the HTTP status, when it is not the decision's (a 400 for a refused MCP request) */
    status?: number
    /** the collector's source, when not the server itself (a gateway in front of it) */
    source?: { kind: string; id: string }
    attributes?: Record<string, unknown>
  },
): void {
  const { server, token } = o
  const fresh = serverAccepts(server, token, t)
  const decision = o.decision ?? (fresh ? 'accepted' : 'rejected')
  const tool =
    o.tool ??
    (server.kind === 'mcp'
      ? (() => {
          const name = ctx.rng.pick(server.tools)
          return {
            method: 'tools/call',
            name,
            ...(ctx.rng.chance(0.6) && { header_method: 'tools/call', header_name: name }),
          }
        })()
      : undefined)
  ctx.emit(
    {
      event_type: 'token.presented',
      source: o.source ?? {
        kind: server.kind === 'mcp' ? 'mcp_server' : 'resource_server',
        id: server.id,
      },
      issuer: ctx.world.issuer,
      ...o.holder,
      network: { ip: o.ip, ...(o.userAgent !== undefined && { user_agent: o.userAgent }) },
      token: { jti: token.jti, iat: token.iat, exp: token.exp, aud: token.aud, format: 'jwt' },
      resource: o.resource ?? server.resource,
      presented_aud: token.aud,
      aud_validated: o.audValidated ?? true,
      decision,
      reason: o.reason ?? (decision === 'accepted' ? 'ok' : fresh ? 'other' : 'expired'),
      ...(tool && { tool }),
      ...(o.attributes && { attributes: o.attributes }),
      http:
        server.kind === 'mcp'
          ? {
              method: 'POST',
              path: '/mcp',
              status: o.status ?? (decision === 'accepted' ? 200 : 401),
            }
          : {
              method: ctx.rng.pick(['GET', 'GET', 'POST']),
              path: `${new URL(server.resource).pathname}/items`,
              status: decision === 'accepted' ? 200 : 401,
            },
    },
    t,
    server.skewMs,
  )
}

/**
 * An RFC 8693 token exchange at true time `t`: `subject` traded by `actor` (a client id) for a
 * token bound to `aud` with `scopes`. The requesting client is `holder.client_id` (the token's
 * client claim stays the user's client, as the exchange carries the user's delegation). The
 * attributes are what audtrail's AS collector records (src/collectors/as/delegation.ts): the
 * issued token's `act` depth and the subject token's `aud`, scopes and `may_act`, so the chain is
 * known even when the exchanges arrive out of order.
 */
export function exchange(
  ctx: FamilyContext,
  t: number,
  o: {
    holder: Holder
    subject: Token
    actor: string
    ip: string
    aud: string[]
    scopes: string[]
    lifetimeS?: number
    userAgent?: string
    attributes?: Record<string, unknown>
  },
): Token {
  const out: Token = {
    jti: ctx.id('xt'),
    ...ctx.tokenTimes(t, o.lifetimeS ?? 300),
    aud: o.aud,
    scopes: o.scopes,
  }
  const subject = minted.get(o.subject)
  const depth = (subject?.depth ?? 0) + 1
  minted.set(out, { depth })
  const delegation = {
    act_depth: depth,
    subject_token_aud: o.subject.aud,
    subject_token_scopes: o.subject.scopes,
    ...(subject?.mayAct !== undefined && { subject_token_may_act: subject.mayAct }),
  }
  ctx.emit(
    {
      event_type: 'token.exchanged',
      source: { kind: 'authorization_server', id: 'as-1' },
      issuer: ctx.world.issuer,
      ...o.holder,
      network: { ip: o.ip, ...(o.userAgent !== undefined && { user_agent: o.userAgent }) },
      token: { ...out, format: 'jwt' },
      subject_token: { jti: o.subject.jti },
      actor: { client_id: o.actor },
      requested_resources: o.aud,
      granted_aud: o.aud,
      requested_scopes: o.scopes,
      granted_scopes: o.scopes,
      attributes: { ...delegation, ...o.attributes },
    },
    t,
    ctx.world.asSkewMs,
  )
  return out
}

/** Hour-of-day weights of human work (local time is UTC here), weekends lighter. */
export function workWeight(t: number): number {
  const d = new Date(t)
  const h = d.getUTCHours()
  const weekend = d.getUTCDay() === 0 || d.getUTCDay() === 6
  const day = h >= 8 && h < 19 ? 1 : h >= 6 && h < 22 ? 0.3 : 0.05
  return weekend ? day * 0.25 : day
}

/** A random time in [from, to) drawn by `weight` (rejection sampling). */
export function drawTime(
  rng: Rng,
  from: number,
  to: number,
  weight: (t: number) => number,
): number {
  for (let i = 0; i < 200; i++) {
    const t = from + rng.next() * (to - from)
    if (rng.next() < weight(t)) return Math.floor(t)
  }
  return Math.floor(from + rng.next() * (to - from))
}

/** An IPv6 address of a site's subnet with a random (privacy) interface id. */
export function v6(rng: Rng, site: string, subnet: number): string {
  return `${site}:${subnet.toString(16)}:${rng.hex(4)}:${rng.hex(4)}:${rng.hex(4)}:${rng.hex(4)}`
}

export function mcpServers(ctx: FamilyContext): Server[] {
  return ctx.world.servers.filter((s) => s.kind === 'mcp')
}
export function apiServers(ctx: FamilyContext): Server[] {
  return ctx.world.servers.filter((s) => s.kind === 'api')
}
