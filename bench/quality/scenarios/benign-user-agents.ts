/**
 * Benign: people using MCP agents (authorization code, then refresh grants) in working hours.
 * Traps for naive detectors: refresh grants that switch resource inside the original grant
 * (RFC 8707 §2.2), tokens used up to the server's own leeway past `exp`, client HTTP retries,
 * IPv6 privacy addresses and a /64 that changes within the site's /56, a home NAT address, a
 * move from one network to another within one token's life (a single switch), aliases of a
 * server as its configured resource, and sessions of very different sizes.
 */
import type { Family, FamilyContext, Server } from '../corpus.js'
import {
  authorize,
  drawTime,
  HOUR,
  issue,
  mcpServers,
  MINUTE,
  present,
  serverAccepts,
  v6,
  workWeight,
  type Holder,
  type Token,
} from './lib.js'

interface Person {
  holder: Holder
  servers: Server[]
  /** where they work from: an address maker per place */
  places: (() => string)[]
  /** their usual session size (requests) */
  sessionMean: number
  sessionsPerDay: number
  lifetimeS: number
}

function person(ctx: FamilyContext, client: string): Person {
  const { rng } = ctx
  const home = rng.chance(0.5)
    ? (() => {
        const site = ctx.v6Site()
        let subnet = rng.int(0, 255)
        return () => {
          if (rng.chance(0.05)) subnet = rng.int(0, 255) // the /64 changes inside the /56
          return v6(rng, site, subnet)
        }
      })()
    : (() => {
        const ip = `${ctx.v4Prefix()}.${rng.int(2, 254)}`
        return () => ip
      })()
  const office = (() => {
    const prefix = ctx.v4Prefix()
    return () => `${prefix}.${rng.int(10, 13)}` // the office's NAT pool
  })()
  const pool = mcpServers(ctx)
  const servers = Array.from({ length: rng.int(1, 3) }, () => rng.pick(pool))
  return {
    holder: { client_id: client, subject: ctx.id('user') },
    servers: [...new Set(servers)],
    places: rng.chance(0.7) ? [home, office] : [home],
    sessionMean: rng.int(4, 25),
    sessionsPerDay: 0.6 + rng.next() * 1.6,
    lifetimeS: rng.pick([900, 1800, 3600]),
  }
}

function session(ctx: FamilyContext, p: Person, start: number): number {
  const { rng } = ctx
  let emitted = 0
  const place = rng.pick(p.places)
  let ip = place()
  let moved = false
  const server = rng.pick(p.servers)
  const grant = p.servers.map((s) => s.resource)
  const scopes = [server.scopes[0]!]
  // Morning sign-in, later sessions refresh (and may switch resource inside the grant).
  const signIn = rng.chance(0.35)
  let token: Token
  if (signIn) {
    authorize(ctx, start, { holder: p.holder, ip, requested: [server.resource], scopes })
    token = issue(ctx, start + rng.int(2000, 20_000), {
      holder: p.holder,
      ip,
      grant: 'authorization_code',
      requested: [server.resource],
      scopes,
      lifetimeS: p.lifetimeS,
    })
    emitted += 2
  } else {
    token = refresh(ctx, p, start, ip, server, grant, scopes)
    emitted += 1
  }
  // Session sizes: most near the person's mean, none wildly beyond it.
  const n = Math.max(1, Math.round(p.sessionMean * (0.5 + rng.next() * 1.5)))
  const length = rng.int(5, 45) * MINUTE
  const moves = rng.chance(0.05) // one move during the session (a single switch of network)
  const moveAt = start + rng.next() * length
  let t = start + 30_000
  for (let i = 0; i < n; i++) {
    t += Math.max(1000, Math.floor((length / n) * (0.2 + rng.next() * 1.6)))
    if (moves && !moved && t > moveAt) {
      const other = p.places.find((x) => x !== place)
      if (other) ip = other()
      moved = true
    }
    // The client refreshes when its token is about to expire; some ride it into the leeway.
    const nearExp = t / 1000 > token.exp - 30
    if (nearExp && !(rng.chance(0.1) && serverAccepts(server, token, t))) {
      token = refresh(ctx, p, t, ip, server, grant, scopes)
      t += rng.int(200, 2000)
      emitted += 1
    }
    const resource = configured(ctx, server)
    present(ctx, t, { holder: p.holder, server, token, ip, resource })
    emitted += 1
    if (rng.chance(0.03)) {
      // A client retry of the same request, a second or two later.
      present(ctx, t + rng.int(500, 3000), { holder: p.holder, server, token, ip, resource })
      emitted += 1
    }
  }
  return emitted
}

/** Servers configured with an alias as their own resource identifier, per server. */
const aliasConfigured = new WeakMap<Server, boolean>()
function configured(ctx: FamilyContext, server: Server): string {
  let alias = aliasConfigured.get(server)
  if (alias === undefined) {
    alias = server.aliases.length > 0 && ctx.rng.chance(0.5)
    aliasConfigured.set(server, alias)
  }
  return alias ? server.aliases[0]! : server.resource
}

function refresh(
  ctx: FamilyContext,
  p: Person,
  t: number,
  ip: string,
  server: Server,
  grant: string[],
  scopes: string[],
): Token {
  return issue(ctx, t, {
    holder: p.holder,
    ip,
    grant: 'refresh_token',
    requested: [server.resource],
    scopes,
    lifetimeS: p.lifetimeS,
    attributes: { grant_resources: grant },
  })
}

export const benignUserAgents: Family = {
  id: 'benign-user-agents',
  kind: 'benign',
  description:
    'people using MCP agents in working hours: sign-in, refresh grants that switch resource, retries, leeway, IPv6 privacy addresses, NAT, moves',
  weight: 0.5,
  generate(ctx) {
    const { rng, world } = ctx
    const clients = ['desktop-agent', 'ide-agent', 'chat-agent', 'notes-agent', 'mail-agent'].map(
      (c) => `${c}-${rng.hex(4)}`,
    )
    const days = (world.end - world.start) / (24 * HOUR)
    // Events per person-day about sessions a day x (session size + token events).
    const people: Person[] = []
    let planned = 0
    while (planned < ctx.budget) {
      const p = person(ctx, rng.pick(clients))
      people.push(p)
      planned += p.sessionsPerDay * (p.sessionMean + 1.5) * days
    }
    for (const p of people) {
      // The first working morning: each of the person's servers once (how the client adopted them).
      for (const [i, server] of p.servers.entries())
        session(ctx, { ...p, servers: [server] }, world.start + 9 * HOUR + i * 2 * HOUR)
      for (let day = 1; day < days; day++) {
        const from = world.start + day * 24 * HOUR
        const count = rng.poisson(p.sessionsPerDay)
        for (let s = 0; s < count; s++) {
          const start = drawTime(rng, from, from + 24 * HOUR - HOUR, workWeight)
          session(ctx, p, start)
        }
      }
    }
  },
}
