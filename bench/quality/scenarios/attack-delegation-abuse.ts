/**
 * Attack: RFC 8693 token exchanges that go beyond the delegation the user gave. Instance 0: an
 * agent exchanges the user's token for the same server with an admin scope the user never had
 * (wider_scope); 1: a client the subject token's `may_act` does not name exchanges it (a
 * confused deputy, actor_not_permitted); 2: an exchange for two APIs at once (wider_audience);
 * 3: agents delegating to agents four hops deep (chain_too_deep, the default limit is 3).
 */
import type { Family } from '../corpus.js'
import { exchange, issue, present } from './lib.js'
import { attackHour, person } from './victims.js'

export const attackDelegationAbuse: Family = {
  id: 'attack-delegation-abuse',
  kind: 'attack',
  description: 'token exchanges that widen scope or audience, by an unnamed actor, or too deep',
  weight: 4,
  generate(ctx) {
    const { rng, world } = ctx
    const at = attackHour(ctx)
    const mcp = rng.pick(world.servers.filter((s) => s.kind === 'mcp' && s.aliases.length === 0))
    const apis = world.servers.filter((s) => s.kind === 'api' && !s.multiAudience)
    const victim = person(ctx, { server: mcp, until: at, last: 3 })
    const { holder } = victim
    const serverIp = `${ctx.v4Prefix()}.20`
    const t = victim.requests[victim.requests.length - 1]! + rng.int(500, 2000)
    const expect = (token: { jti: string }, violation: string) =>
      ctx.expect({ rule: 'delegation-chain-violation', keys: { token_key: token.jti, violation } })
    if (ctx.instance === 0) {
      const scopes = [...victim.token.scopes, `${mcp.id.replace('-mcp', '')}:admin`]
      const out = exchange(ctx, t, {
        holder,
        subject: victim.token,
        actor: mcp.id,
        ip: serverIp,
        aud: [mcp.resource],
        scopes,
      })
      expect(out, 'wider_scope')
      // The admin scope is registered nowhere: the token carries a scope with no meaning there.
      ctx.expect({
        rule: 'scope-not-valid-for-resource',
        keys: { client_id: holder.client_id, resource: mcp.resource },
      })
    } else if (ctx.instance === 1) {
      // The user's client asked for a token the MCP server alone may exchange.
      const token = issue(ctx, t, {
        holder,
        ip: victim.ip,
        grant: 'refresh_token',
        requested: [mcp.resource],
        scopes: [mcp.scopes[0]!],
        lifetimeS: 900,
        attributes: { grant_resources: [mcp.resource], may_act: { client_id: mcp.id } },
      })
      present(ctx, t + 1500, { holder, server: mcp, token, ip: victim.ip })
      const api = rng.pick(apis)
      const rogue = ctx.id('sync-agent')
      const out = exchange(ctx, t + 60_000, {
        holder,
        subject: token,
        actor: rogue,
        ip: `${ctx.v4Prefix()}.${rng.int(2, 250)}`,
        aud: [api.resource],
        scopes: [api.scopes[0]!],
      })
      expect(out, 'actor_not_permitted')
    } else if (ctx.instance === 2) {
      const [a, b] = [apis[0]!, apis[1]!]
      const out = exchange(ctx, t, {
        holder,
        subject: victim.token,
        actor: mcp.id,
        ip: serverIp,
        aud: [a.resource, b.resource],
        scopes: [a.scopes[0]!, b.scopes[0]!],
      })
      expect(out, 'wider_audience')
      ctx.expect({
        rule: 'multi-audience-token',
        keys: { client_id: holder.client_id, audience: [a.resource, b.resource].sort().join(' ') },
      })
    } else {
      // Each agent hands the work to the next one, each by an exchange of the token it got.
      let subject = victim.token
      let actor = mcp.id
      for (let hop = 0; hop < 4; hop++) {
        const target = apis[hop % apis.length]!
        subject = exchange(ctx, t + hop * 1500, {
          holder,
          subject,
          actor,
          ip: `${ctx.v4Prefix()}.${20 + hop}`,
          aud: [target.resource],
          scopes: [target.scopes[0]!],
        })
        actor = target.id
      }
      expect(subject, 'chain_too_deep')
    }
  },
}
