/**
 * Attack: a stolen bearer token used by a second holder while its owner still uses it.
 * Instance 0: from one network the owner never used, between the owner's own requests (two
 * networks, taking turns). Instance 1: from three networks (a botnet) within minutes. Instance 2:
 * a client-credentials token of a fleet behind a known NAT pool, replayed from a new network.
 */
import type { Family } from '../corpus.js'
import { apiServers, HOUR, issue, present } from './lib.js'
import { attackHour, person } from './victims.js'

export const attackTokenReplay: Family = {
  id: 'attack-token-replay',
  kind: 'attack',
  description: "a stolen token used from another network while its owner's requests go on",
  weight: 3,
  generate(ctx) {
    const { rng, world } = ctx
    const at = attackHour(ctx)
    if (ctx.instance === 2) {
      const client = ctx.id('svc')
      const holder = { client_id: client, subject: client }
      const server = rng.pick(apiServers(ctx))
      const prefix = ctx.v4Prefix()
      const pool = [10, 11, 12, 13].map((d) => `${prefix}.${d}`)
      let last = issue(ctx, at - 48 * HOUR, {
        holder,
        ip: pool[0]!,
        grant: 'client_credentials',
        requested: [server.resource],
        scopes: [server.scopes[0]!],
        lifetimeS: 3600,
      })
      // Two days of history: the pool is the fleet's usual network.
      for (let hour = at - 48 * HOUR; hour <= at; hour += HOUR) {
        const token =
          hour === at - 48 * HOUR
            ? last
            : issue(ctx, hour, {
                holder,
                ip: pool[0]!,
                grant: 'client_credentials',
                requested: [server.resource],
                scopes: [server.scopes[0]!],
                lifetimeS: 3600,
              })
        last = token
        // The workers poll every two minutes.
        for (let t = hour + 2000; t < hour + HOUR - 60_000; t += 120_000)
          present(ctx, t + rng.int(0, 5000), { holder, server, token, ip: rng.pick(pool) })
      }
      const thief = `${ctx.v4Prefix()}.66`
      for (let i = 0; i < 3; i++)
        present(ctx, at + 600_000 + 50_000 + i * 30_000, { holder, server, token: last, ip: thief })
      ctx.expect({ rule: 'token-multi-source', keys: { token_key: last.jti, client_id: client } })
      return
    }
    const server = rng.pick(world.servers)
    const victim = person(ctx, { server, until: at, last: 8 })
    const thieves =
      ctx.instance === 1
        ? [`${ctx.v4Prefix()}.3`, `${ctx.v4Prefix()}.77`, `${ctx.v4Prefix()}.140`]
        : [`${ctx.v4Prefix()}.${rng.int(2, 250)}`]
    // Between the owner's second and fourth request.
    const from = victim.requests[1]!
    const to = victim.requests[3]!
    thieves.forEach((ip, i) =>
      present(ctx, from + Math.floor(((i + 1) * (to - from)) / (thieves.length + 1)), {
        holder: victim.holder,
        server,
        token: victim.token,
        ip,
      }),
    )
    ctx.expect({
      rule: 'token-multi-source',
      keys: { token_key: victim.token.jti, client_id: victim.holder.client_id },
    })
  },
}
