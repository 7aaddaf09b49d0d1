/**
 * Benign: clients whose hourly volume is bursty but ordinary, the shapes a count-per-hour model
 * takes for spikes. A developer who now and then runs two to four agent sessions in one hour
 * (parallel agents, a pairing session); a CI client whose runs of 15 to 40 calls come at random
 * working times and sometimes three in an hour (a merge train); a user first seen two or three
 * days before the corpus ends, with only a few sessions, then an hour of two or three sessions.
 * Session-clustered counts are over-dispersed: a Poisson model at the median rate calls each of
 * these busier hours a spike. Traps for token-usage-spike.
 */
import type { Family, FamilyContext, Server } from '../corpus.js'
import { drawTime, HOUR, issue, MINUTE, mcpServers, present, workWeight } from './lib.js'

interface Bursty {
  holder: { client_id: string; subject: string }
  ip: string
  server: Server
}

/** One session of `n` calls from `t`, `gapMs` apart or so, with its own token. */
function session(ctx: FamilyContext, c: Bursty, t: number, n: number, gapMs: number): number {
  const token = issue(ctx, t, {
    holder: c.holder,
    ip: c.ip,
    grant: 'refresh_token',
    requested: [c.server.resource],
    scopes: [c.server.scopes[0]!],
    lifetimeS: 3600,
    attributes: { grant_resources: [c.server.resource] },
  })
  for (let i = 0; i < n; i++)
    present(ctx, t + 4000 + i * gapMs + ctx.rng.int(0, gapMs / 2), {
      holder: c.holder,
      server: c.server,
      token,
      ip: c.ip,
    })
  return n + 1
}

export const benignBurstySessions: Family = {
  id: 'benign-bursty-sessions',
  kind: 'benign',
  description:
    'developers with parallel agent sessions, CI runs in merge trains, new users with a busy hour',
  weight: 0.05,
  generate(ctx) {
    const { rng, world } = ctx
    const DAY = 24 * HOUR
    const client = (server: Server): Bursty => ({
      holder: { client_id: ctx.id('dev-agent'), subject: ctx.id('user') },
      ip: `${ctx.v4Prefix()}.${rng.int(2, 250)}`,
      server,
    })
    let emitted = 0
    // A new user: first seen two or three days before the end, a session or two a day, then a
    // busy hour of two or three sessions.
    const fresh = (c: Bursty) => {
      const first = world.end - rng.int(2, 3) * DAY
      const firstDay = first - (first % DAY)
      for (let day = firstDay; day < world.end - 20 * HOUR; day += DAY) {
        const sessions = day === firstDay ? 1 : rng.int(1, 2)
        for (let s = 0; s < sessions; s++) {
          const t =
            day === firstDay ? day + 9 * HOUR : drawTime(rng, day, day + 17 * HOUR, workWeight)
          emitted += session(ctx, c, t, rng.int(4, 15), rng.int(1, 3) * MINUTE)
        }
      }
      const busy = world.end - 6 * HOUR
      const n = rng.int(2, 3)
      for (let s = 0; s < n; s++)
        emitted += session(ctx, c, busy + s * 8 * MINUTE, rng.int(4, 15), rng.int(20, 60) * 1000)
    }
    // A developer: a session or two of 4 to 20 calls most working days; on one of the corpus'
    // last two days (where attacks are scored), an hour with two to four sessions at once.
    const dev = (c: Bursty) => {
      for (let day = world.start; day < world.end - DAY; day += DAY) {
        const sessions = rng.poisson(1.3)
        for (let s = 0; s < sessions; s++) {
          const t = drawTime(rng, day, day + 23 * HOUR, workWeight)
          emitted += session(ctx, c, t, rng.int(4, 20), rng.int(1, 3) * MINUTE)
        }
      }
      const busy = world.end - rng.int(1, 2) * DAY + rng.int(9, 16) * HOUR
      const parallel = rng.int(2, 4)
      for (let s = 0; s < parallel; s++)
        emitted += session(ctx, c, busy + s * 5 * MINUTE, rng.int(4, 20), rng.int(20, 60) * 1000)
    }
    // A CI client: one to four runs of 15 to 40 calls a day; a merge train of three runs in one
    // hour on one of the last two days.
    const ci = (c: Bursty) => {
      for (let day = world.start; day < world.end - DAY; day += DAY) {
        const runs = rng.int(1, 4)
        for (let r = 0; r < runs; r++) {
          const t = drawTime(rng, day, day + 23 * HOUR, workWeight)
          emitted += session(ctx, c, t, rng.int(15, 40), rng.int(2, 6) * 1000)
        }
      }
      const train = world.end - rng.int(1, 2) * DAY + rng.int(9, 16) * HOUR
      for (let r = 0; r < 3; r++)
        emitted += session(ctx, c, train + r * 12 * MINUTE, rng.int(15, 40), rng.int(2, 6) * 1000)
    }
    // Round robin, cheapest first, until the budget is spent (the suite's small corpus gets a
    // new user and a developer).
    for (let i = 0; emitted < ctx.budget; i++) {
      if (i % 3 === 0) fresh(client(rng.pick(mcpServers(ctx))))
      else if (i % 3 === 1) dev(client(rng.pick(mcpServers(ctx))))
      else ci(client(rng.pick(world.servers)))
    }
  },
}
