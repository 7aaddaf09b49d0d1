/**
 * Attack: a hijacked or runaway agent. A client with an ordinary, low history at one server
 * suddenly sends ten to forty times its usual volume within one hour, from its own address
 * with its own tokens (nothing else about it changes). Instance 1 is a busy fleet pair pushed
 * to five times its rate.
 */
import type { Family } from '../corpus.js'
import { apiServers, HOUR, issue, MINUTE, present } from './lib.js'
import { attackHour, person } from './victims.js'

export const attackUsageSpike: Family = {
  id: 'attack-usage-spike',
  kind: 'attack',
  description: "a client's request volume at one server jumps tenfold or more in one hour",
  weight: 3,
  generate(ctx) {
    const { rng, world } = ctx
    const at = attackHour(ctx)
    if (ctx.instance === 1) {
      // A busy fleet pair: about 30 an hour, then 200 in the hour.
      const client = ctx.id('svc')
      const holder = { client_id: client, subject: client }
      const server = rng.pick(apiServers(ctx))
      const ip = `${ctx.v4Prefix()}.9`
      const from = at - 72 * HOUR // three days of history
      let token = issue(ctx, from, {
        holder,
        ip,
        grant: 'client_credentials',
        requested: [server.resource],
        scopes: [server.scopes[0]!],
        lifetimeS: 3600,
      })
      for (let hour = from; hour < at + HOUR; hour += HOUR) {
        const n = hour === at ? rng.int(200, 260) : rng.poisson(30)
        if (hour > from)
          token = issue(ctx, hour, {
            holder,
            ip,
            grant: 'client_credentials',
            requested: [server.resource],
            scopes: [server.scopes[0]!],
            lifetimeS: 3600,
          })
        for (let i = 0; i < n; i++)
          present(ctx, hour + 1000 + Math.floor((i * (HOUR - 60_000)) / n), {
            holder,
            server,
            token,
            ip,
          })
      }
      ctx.expect({
        rule: 'token-usage-spike',
        keys: { client_id: client, resource: server.resource },
      })
      return
    }
    const server = rng.pick(world.servers.filter((s) => s.kind === 'mcp'))
    const victim = person(ctx, { server, until: at, last: 1 })
    // The agent loops: 100 to 400 calls within the hour, refreshing its token as it goes.
    const n = rng.int(100, 400)
    let token = victim.token
    for (let i = 0; i < n; i++) {
      const t = at + 20_000 + Math.floor((i * (HOUR - 5 * MINUTE)) / n)
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
