/**
 * Attack: a hijacked agent whose loop straddles an hour edge. A person with an ordinary, low
 * history at one MCP server (sessions of 4 to 15 calls); the loop starts at half past and runs
 * for an hour, 120 to 300 calls, so each clock hour holds about half of it (instance 0), or
 * starts ten minutes before the hour and runs forty minutes (instance 1: a quarter and three
 * quarters). Counted by clock hour, each part can look like a few of the person's sessions.
 */
import type { Family } from '../corpus.js'
import { HOUR, issue, MINUTE, mcpServers, present } from './lib.js'
import { attackHour, person } from './victims.js'

export const attackUsageSpikeStraddling: Family = {
  id: 'attack-usage-spike-straddling',
  kind: 'attack',
  description:
    "a client's request volume jumps tenfold or more in an hour that straddles a clock hour",
  weight: 2,
  generate(ctx) {
    const { rng } = ctx
    const server = rng.pick(mcpServers(ctx))
    const start = attackHour(ctx) + (ctx.instance === 0 ? 30 : -10) * MINUTE
    const length = ctx.instance === 0 ? HOUR - 2 * MINUTE : 40 * MINUTE
    const victim = person(ctx, { server, until: start, last: 1 })
    const n = rng.int(120, 300)
    let token = victim.token
    for (let i = 0; i < n; i++) {
      const t = start + 20_000 + Math.floor((i * length) / n)
      if (t / 1000 > token.exp - 30)
        token = issue(ctx, t - 500, {
          holder: victim.holder,
          ip: victim.ip,
          grant: 'refresh_token',
          requested: [server.resource],
          scopes: [server.scopes[0]!],
          lifetimeS: 1800,
          attributes: { grant_resources: [server.resource] },
        })
      present(ctx, t, { holder: victim.holder, server, token, ip: victim.ip })
    }
    ctx.expect({
      rule: 'token-usage-spike',
      keys: { client_id: victim.holder.client_id, resource: server.resource },
    })
  },
}
