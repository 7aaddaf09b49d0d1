/** Attack families' victims: a person or a fleet with ordinary history before the attack. */
import type { FamilyContext, Server } from '../corpus.js'
import {
  drawTime,
  HOUR,
  issue,
  MINUTE,
  present,
  workWeight,
  type Holder,
  type Token,
} from './lib.js'

export interface Victim {
  holder: Holder
  server: Server
  ip: string
  /** the token of the victim's last session (in use at `sessionAt`) */
  token: Token
  /** true times of the victim's requests in its last session */
  requests: number[]
}

/**
 * A person at `server` from one address: a session or two a working day of 4 to 15 requests
 * from the corpus start until `until`, then a last session starting at `until` with `last`
 * requests a minute or so apart. Returns the last session's token and request times.
 */
export function person(
  ctx: FamilyContext,
  o: {
    server: Server
    until: number
    last?: number
    client?: string
    lifetimeS?: number
    /** first day of its history (default: the corpus start) */
    from?: number
    /** sessions a day after the first (Poisson mean; default 1.5) */
    sessionsPerDay?: number
  },
): Victim {
  const { rng, world } = ctx
  const holder = { client_id: o.client ?? ctx.id('agent'), subject: ctx.id('user') }
  const ip = `${ctx.v4Prefix()}.${rng.int(2, 250)}`
  const server = o.server
  const grant = [server.resource]
  const scopes = [server.scopes[0]!]
  const lifetimeS = o.lifetimeS ?? 1800
  const sessionAt = (t: number, n: number, gap: number) => {
    const token = issue(ctx, t, {
      holder,
      ip,
      grant: 'refresh_token',
      requested: grant,
      scopes,
      lifetimeS,
      attributes: { grant_resources: grant },
    })
    const times: number[] = []
    for (let i = 0; i < n; i++) {
      const at = t + 5000 + i * gap + rng.int(0, gap / 2)
      if (at / 1000 > token.exp - 30) break
      present(ctx, at, { holder, server, token, ip })
      times.push(at)
    }
    return { token, times }
  }
  const first = o.from ?? world.start
  for (let day = first; day + 24 * HOUR <= o.until; day += 24 * HOUR) {
    const sessions = day === first ? 1 : rng.poisson(o.sessionsPerDay ?? 1.5)
    for (let s = 0; s < sessions; s++) {
      const t = day === first ? day + 9 * HOUR : drawTime(rng, day, day + 23 * HOUR, workWeight)
      sessionAt(t, rng.int(4, 15), rng.int(1, 3) * MINUTE)
    }
  }
  const last = sessionAt(o.until, o.last ?? 8, rng.int(40, 70) * 1000)
  return { holder, server, ip, token: last.token, requests: last.times }
}

/** A working hour on one of the corpus' last two days. */
export function attackHour(ctx: FamilyContext): number {
  const { rng, world } = ctx
  const day = world.end - rng.int(1, 2) * 24 * HOUR
  const start = day - (day % (24 * HOUR))
  return start + rng.int(9, 16) * HOUR
}
