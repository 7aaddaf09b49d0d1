/**
 * Attack (AS policy): a token whose scopes include one its audience does not define: the AS did
 * not downscope per resource (RFC 8707 §2.2; RFC 9068 §2.2.3 says every scope MUST have meaning
 * at the audience), so a files token also carries the billing write scope the user consented to
 * for another server.
 */
import type { Family } from '../corpus.js'
import { issue, present } from './lib.js'
import { attackHour } from './victims.js'

export const attackStrayScope: Family = {
  id: 'attack-stray-scope',
  kind: 'attack',
  description: "a token carrying another resource's scope",
  weight: 2,
  generate(ctx) {
    const { rng, world } = ctx
    const at = attackHour(ctx)
    const server = rng.pick(world.servers.filter((s) => s.kind === 'mcp'))
    const other = rng.pick(world.servers.filter((s) => s.kind === 'api'))
    const holder = { client_id: ctx.id('assistant'), subject: ctx.id('user') }
    const ip = `${ctx.v4Prefix()}.${rng.int(2, 250)}`
    const token = issue(ctx, at, {
      holder,
      ip,
      grant: 'refresh_token',
      requested: [server.resource],
      scopes: ['openid', server.scopes[0]!, other.scopes[1]!],
      lifetimeS: 900,
      attributes: { grant_resources: [server.resource, other.resource] },
    })
    for (let i = 0; i < 4; i++) present(ctx, at + 3000 + i * 40_000, { holder, server, token, ip })
    ctx.expect({
      rule: 'scope-not-valid-for-resource',
      keys: { client_id: holder.client_id, resource: server.resource },
    })
  },
}
