/**
 * Attack (AS policy): tokens whose audience is not what the client asked for. Instance 0: the
 * client asks for one MCP server and the AS adds a downstream API to `aud` (RFC 9068 §3: `aud`
 * SHOULD be the requested resource); 1: a refresh for a resource outside the original grant,
 * which the AS honours although RFC 8707 §2.2 limits refreshes to the grant or a subset.
 */
import type { Family } from '../corpus.js'
import { issue, present } from './lib.js'
import { attackHour } from './victims.js'

export const attackUnrequestedAudience: Family = {
  id: 'attack-unrequested-audience',
  kind: 'attack',
  description: 'an AS granting an audience not requested, or a refresh outside the grant',
  weight: 2,
  generate(ctx) {
    const { rng, world } = ctx
    const at = attackHour(ctx)
    const mcps = world.servers.filter((s) => s.kind === 'mcp' && s.aliases.length === 0)
    const [server, other] = [mcps[0]!, mcps[1]!].sort(() => rng.next() - 0.5)
    const api = rng.pick(world.servers.filter((s) => s.kind === 'api' && !s.multiAudience))
    const holder = { client_id: ctx.id('assistant'), subject: ctx.id('user') }
    const ip = `${ctx.v4Prefix()}.${rng.int(2, 250)}`
    const client_id = holder.client_id
    if (ctx.instance === 0) {
      const aud = [server!.resource, api.resource]
      const token = issue(ctx, at, {
        holder,
        ip,
        grant: 'authorization_code',
        requested: [server!.resource],
        aud,
        scopes: [server!.scopes[0]!],
        lifetimeS: 900,
        attributes: { grant_resources: [server!.resource] },
      })
      for (let i = 0; i < 4; i++)
        present(ctx, at + 5000 + i * 40_000, { holder, server: server!, token, ip })
      ctx.expect({
        rule: 'granted-aud-mismatch',
        keys: { client_id, requested: server!.resource, granted: [...aud].sort().join(' ') },
      })
      ctx.expect({
        rule: 'multi-audience-token',
        keys: { client_id, audience: [...aud].sort().join(' ') },
      })
    } else {
      // The user consented to `server`; the refresh asks for `other` and gets it.
      const token = issue(ctx, at, {
        holder,
        ip,
        grant: 'refresh_token',
        requested: [other!.resource],
        scopes: [other!.scopes[0]!],
        lifetimeS: 900,
        attributes: { grant_resources: [server!.resource], resource_switch: true },
      })
      for (let i = 0; i < 4; i++)
        present(ctx, at + 5000 + i * 40_000, { holder, server: other!, token, ip })
      ctx.expect({
        rule: 'granted-aud-mismatch',
        keys: { client_id, requested: other!.resource, granted: other!.resource },
      })
    }
  },
}
