/**
 * Benign: networks that change under a token in ordinary ways. People at home on IPv6 only,
 * whose ISP delegates a new prefix every day (a new /56, often of another /48: RFC 6177 leaves
 * the renumbering to the ISP), the change falling inside a session now and then, so one token is
 * used from the old prefix and then the new one (a single switch). A service whose workers share
 * one client-credentials token across three availability zones, each behind its own NAT
 * gateway in its own /24, deployed two days before the corpus starts (three networks at once,
 * all usual). Traps for token-multi-source and token-passthrough.
 */
import type { Family, FamilyContext } from '../corpus.js'
import {
  apiServers,
  drawTime,
  HOUR,
  issue,
  mcpServers,
  MINUTE,
  present,
  v6,
  workWeight,
  type Token,
} from './lib.js'

const DAY = 24 * HOUR

/** A home user whose delegated prefix changes once a day; returns the events written. */
function renumbered(ctx: FamilyContext): number {
  const { rng, world } = ctx
  const holder = { client_id: ctx.id('desktop-agent'), subject: ctx.id('user') }
  const server = rng.pick(mcpServers(ctx))
  let site = ctx.v6Site()
  let subnet = rng.int(0, 255)
  let renumberAt = world.start + rng.int(6, 30) * HOUR
  let emitted = 0
  const address = (t: number) => {
    while (t >= renumberAt) {
      site = ctx.v6Site()
      subnet = rng.int(0, 255)
      renumberAt += DAY + rng.int(-2, 2) * HOUR
    }
    return v6(rng, site, subnet)
  }
  for (let day = world.start; day < world.end; day += DAY) {
    const sessions = day === world.start ? 1 : rng.poisson(1.5)
    for (let s = 0; s < sessions; s++) {
      // One session in four straddles the day's renumbering.
      const straddle = rng.chance(0.25) && renumberAt > day && renumberAt < day + DAY - HOUR
      const t = straddle
        ? renumberAt - rng.int(3, 15) * MINUTE
        : day === world.start
          ? day + 9 * HOUR
          : drawTime(rng, day, day + 23 * HOUR, workWeight)
      const token: Token = issue(ctx, t, {
        holder,
        ip: address(t),
        grant: 'refresh_token',
        requested: [server.resource],
        scopes: [server.scopes[0]!],
        lifetimeS: 3600,
        attributes: { grant_resources: [server.resource] },
      })
      emitted += 1
      const n = rng.int(4, 20)
      let at = t + 2000
      for (let i = 0; i < n; i++) {
        at += rng.int(20, 120) * 1000
        if (at / 1000 > token.exp - 30) break
        present(ctx, at, { holder, server, token, ip: address(at) })
        emitted += 1
      }
    }
  }
  return emitted
}

/** A fleet sharing one token across three zones' NAT gateways; returns the events written. */
function zonedFleet(ctx: FamilyContext): number {
  const { rng, world } = ctx
  const client = ctx.id('svc-zoned')
  const holder = { client_id: client, subject: client }
  const server = rng.pick(apiServers(ctx))
  const gateways = [ctx.v4Prefix(), ctx.v4Prefix(), ctx.v4Prefix()].map(
    (p) => `${p}.${rng.int(2, 250)}`,
  )
  const perHour = rng.int(6, 30)
  let token: Token | undefined
  let emitted = 0
  // Deployed two days before the corpus starts: its history is stored, its windows before the
  // corpus are not judged (a day-one fleet across three zones makes one finding, its first
  // window's: token-multi-source's false-positive notes).
  for (let hour = world.start - 2 * DAY; hour < world.end; hour += HOUR) {
    const n = rng.poisson(perHour)
    const times = Array.from({ length: n }, () => hour + Math.floor(rng.next() * HOUR)).sort(
      (x, y) => x - y,
    )
    for (const t of times) {
      const ip = rng.pick(gateways)
      if (!token || t / 1000 > token.exp - 60) {
        token = issue(ctx, t, {
          holder,
          ip,
          grant: 'client_credentials',
          requested: [server.resource],
          scopes: [server.scopes[0]!],
          lifetimeS: 3600,
        })
        emitted += 1
      }
      present(ctx, t + rng.int(50, 900), { holder, server, token, ip })
      emitted += 1
    }
  }
  return emitted
}

export const benignNetworkChanges: Family = {
  id: 'benign-network-changes',
  kind: 'benign',
  description:
    'IPv6 prefixes renumbered daily by the ISP (inside a session now and then), a fleet sharing a token across three zones',
  weight: 0.04,
  generate(ctx) {
    let emitted = 0
    for (let i = 0; emitted < ctx.budget; i++)
      emitted += i % 3 === 2 ? zonedFleet(ctx) : renumbered(ctx)
  },
}
