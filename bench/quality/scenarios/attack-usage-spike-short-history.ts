/**
 * Attack: a usage spike on a pair with a short or sparse history, fewer than eight active hours
 * before it: a user first seen two to four days earlier whose agent is hijacked into a loop; a CI
 * client with a handful of runs whose token is taken and used to scrape; a service account that
 * only runs a nightly job, suddenly busy at midday. Each spike is at least eight times the
 * pair's usual active hour (a sparse pair's burst of a few times its level is ordinary).
 */
import type { Family } from '../corpus.js'
import { apiServers, HOUR, issue, MINUTE, mcpServers, present } from './lib.js'
import { attackHour, person } from './victims.js'

const DAY = 24 * HOUR

export const attackUsageSpikeShortHistory: Family = {
  id: 'attack-usage-spike-short-history',
  kind: 'attack',
  description: 'a usage spike on a pair with fewer than eight active hours of history',
  weight: 3,
  generate(ctx) {
    const { rng } = ctx
    const at = attackHour(ctx)
    if (ctx.instance === 0) {
      // A user first seen two to four days before; a session or so a day of 4 to 15 calls.
      const server = rng.pick(mcpServers(ctx))
      const from = at - (at % DAY) - rng.int(2, 4) * DAY
      const victim = person(ctx, { server, until: at, last: 1, from, sessionsPerDay: 1 })
      const n = rng.int(120, 300)
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
      return
    }
    const server = rng.pick(apiServers(ctx))
    const client = ctx.id(ctx.instance === 1 ? 'ci' : 'svc')
    const holder = { client_id: client, subject: client }
    const ip = `${ctx.v4Prefix()}.${rng.int(2, 250)}`
    const token = (t: number) =>
      issue(ctx, t, {
        holder,
        ip,
        grant: 'client_credentials',
        requested: [server.resource],
        scopes: [server.scopes[0]!],
        lifetimeS: 3600,
      })
    // Instance 1: a CI client, four to six runs of 20 to 40 calls over three days. Instance 2:
    // a service account's nightly job at 02:00, 20 to 50 calls, for four nights.
    const runs = ctx.instance === 1 ? rng.int(4, 6) : 4
    let size = 0
    for (let r = 0; r < runs; r++) {
      const t =
        ctx.instance === 1
          ? at - (r + 1) * 13 * HOUR + rng.int(0, 30) * MINUTE
          : at - (at % DAY) - (r + 1) * DAY + 2 * HOUR
      const n = ctx.instance === 1 ? rng.int(20, 40) : rng.int(20, 50)
      size = Math.max(size, n)
      const tok = token(t)
      for (let i = 0; i < n; i++)
        present(ctx, t + 2000 + i * rng.int(2000, 8000), { holder, server, token: tok, ip })
    }
    // The stolen token (or the hijacked job) at ten to twenty times its largest run.
    const n = size * rng.int(10, 20)
    let tok = token(at)
    for (let i = 0; i < n; i++) {
      const t = at + 10_000 + Math.floor((i * (HOUR - 5 * MINUTE)) / n)
      if (t / 1000 > tok.exp - 30) tok = token(t - 500)
      present(ctx, t, { holder, server, token: tok, ip })
    }
    ctx.expect({
      rule: 'token-usage-spike',
      keys: { client_id: client, resource: server.resource },
    })
  },
}
