/**
 * Attack (posture): one token for two MCP servers that are not registered as a multi-audience
 * set: either server can replay it at the other (RFC 8707 §3). The client asked for both in one
 * request and the AS complied; the token is then used at both.
 */
import type { Family } from '../corpus.js'
import { issue, present } from './lib.js'
import { attackHour } from './victims.js'

export const attackMultiAudience: Family = {
  id: 'attack-multi-audience',
  kind: 'attack',
  description: 'a token asked for and granted for two MCP servers at once, used at both',
  weight: 2,
  generate(ctx) {
    const { rng, world } = ctx
    const at = attackHour(ctx)
    const mcps = world.servers.filter((s) => s.kind === 'mcp' && s.aliases.length === 0)
    const a = rng.pick(mcps)
    const b = rng.pick(mcps.filter((s) => s !== a))
    const holder = { client_id: ctx.id('workflow-agent'), subject: ctx.id('user') }
    const ip = `${ctx.v4Prefix()}.${rng.int(2, 250)}`
    const aud = [a.resource, b.resource]
    const token = issue(ctx, at, {
      holder,
      ip,
      grant: 'authorization_code',
      requested: aud,
      scopes: [a.scopes[0]!, b.scopes[0]!],
      lifetimeS: 1800,
      attributes: { grant_resources: aud },
    })
    for (let i = 0; i < 6; i++)
      present(ctx, at + 4000 + i * 45_000, { holder, server: rng.pick([a, b]), token, ip })
    ctx.expect({
      rule: 'multi-audience-token',
      keys: { client_id: holder.client_id, audience: [...aud].sort().join(' ') },
    })
  },
}
