/**
 * Benign: people whose agent sessions do not keep to clock hours, the shape that makes an
 * hour-count model misjudge a low-rate client's burst size. Sessions of 5 to 15 calls, each with
 * its own token, most of them starting in the last twenty minutes of an hour (so an hour edge
 * cuts them in two and the hour counts show halves); retries of a failing call (a 503 upstream,
 * then the same call again after a backoff of 1, 2 and 4 s); now and then one token kept for
 * a second session minutes later. On one of the corpus' last two days, an ordinary busy hour:
 * three whole sessions inside it, or (another person) two sessions straddling two hours. Traps
 * for token-usage-spike.
 */
import type { Family, FamilyContext, Server } from '../corpus.js'
import { HOUR, issue, MINUTE, mcpServers, present, type Holder, type Token } from './lib.js'

const DAY = 24 * HOUR

interface Straddler {
  holder: Holder
  ip: string
  server: Server
}

function newToken(ctx: FamilyContext, c: Straddler, t: number): Token {
  return issue(ctx, t, {
    holder: c.holder,
    ip: c.ip,
    grant: 'refresh_token',
    requested: [c.server.resource],
    scopes: [c.server.scopes[0]!],
    lifetimeS: 3600,
    attributes: { grant_resources: [c.server.resource] },
  })
}

/** One session of `n` calls from `t`, `gapMs` apart or so; returns the events written. */
function session(
  ctx: FamilyContext,
  c: Straddler,
  t: number,
  n: number,
  gapMs: number,
  token: Token,
): number {
  const { rng } = ctx
  let emitted = 0
  let at = t + 3000
  for (let i = 0; i < n; i++) {
    at += Math.floor(gapMs * (0.5 + rng.next()))
    if (at / 1000 > token.exp - 30) break
    if (rng.chance(0.04)) {
      // The server's upstream failed (503): the client retries with backoff, then succeeds.
      const tries = rng.int(1, 3)
      for (let r = 0; r < tries; r++) {
        present(ctx, at, { holder: c.holder, server: c.server, token, ip: c.ip, status: 503 })
        at += 1000 * 2 ** r + rng.int(0, 400)
        emitted += 1
      }
    }
    present(ctx, at, { holder: c.holder, server: c.server, token, ip: c.ip })
    emitted += 1
  }
  return emitted
}

export const benignStraddlingSessions: Family = {
  id: 'benign-straddling-sessions',
  kind: 'benign',
  description:
    'sessions cut in two by hour edges, retries with backoff, a token kept for two sessions, an hour with three whole sessions',
  weight: 0.04,
  generate(ctx) {
    const { rng, world } = ctx
    let emitted = 0
    for (let i = 0; emitted < ctx.budget; i++) {
      const c: Straddler = {
        holder: { client_id: ctx.id('ide-agent'), subject: ctx.id('user') },
        ip: `${ctx.v4Prefix()}.${rng.int(2, 250)}`,
        server: rng.pick(mcpServers(ctx)),
      }
      const gap = () => rng.int(1, 3) * MINUTE
      // A session or two most days, from the first morning, most of them starting late in an
      // hour; weekends lighter.
      for (let day = world.start; day < world.end - DAY; day += DAY) {
        const weekend = [0, 6].includes(new Date(day).getUTCDay())
        const sessions = day === world.start ? 1 : rng.poisson(weekend ? 0.5 : 1.6)
        for (let s = 0; s < sessions; s++) {
          const hour = day + rng.int(8, 18) * HOUR
          const t = hour + (rng.chance(0.75) ? rng.int(40, 58) : rng.int(0, 39)) * MINUTE
          const token = newToken(ctx, c, t)
          emitted += 1 + session(ctx, c, t, rng.int(5, 15), gap(), token)
          // The client keeps the token for a second session a few minutes later.
          if (rng.chance(0.15))
            emitted += session(ctx, c, t + rng.int(15, 25) * MINUTE, rng.int(5, 15), gap(), token)
        }
      }
      // The busy hour, on one of the last two days (where attacks are scored): three whole
      // sessions inside one hour, or two sessions across two hours (every other person).
      const hour = world.end - rng.int(1, 2) * DAY + rng.int(9, 16) * HOUR
      if (i % 2 === 0) {
        for (let s = 0; s < 3; s++) {
          const t = hour + 60_000 + s * 18 * MINUTE
          const size = rng.int(5, 15)
          emitted += 1 + session(ctx, c, t, size, rng.int(20, 50) * 1000, newToken(ctx, c, t))
        }
      } else {
        for (let s = 0; s < 2; s++) {
          const t = hour + (40 + s * 12) * MINUTE
          emitted += 1 + session(ctx, c, t, rng.int(10, 15), gap(), newToken(ctx, c, t))
        }
      }
    }
  },
}
