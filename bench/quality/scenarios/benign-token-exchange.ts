/**
 * Benign: an MCP server that calls a downstream API on the user's behalf by token exchange
 * (RFC 8693), sometimes two hops deep (the API exchanges again for a second API). Traps: the
 * downstream token is presented from the MCP server's own address, not the user's; the
 * exchanged token's audience differs from the subject token's; a chain of exchanges.
 */
import type { Family } from '../corpus.js'
import { apiServers, drawTime, HOUR, issue, mcpServers, present, workWeight } from './lib.js'

export const benignTokenExchange: Family = {
  id: 'benign-token-exchange',
  kind: 'benign',
  description: 'MCP servers exchanging user tokens for downstream API tokens, one or two hops',
  weight: 0.08,
  generate(ctx) {
    const { rng, world } = ctx
    const mcp = rng.pick(mcpServers(ctx))
    const apis = apiServers(ctx).filter((s) => !s.multiAudience)
    const [first, second] = [apis[0]!, apis[1]!]
    const client = ctx.id('research-agent')
    const serverIp = `${ctx.v4Prefix()}.20`
    const apiIp = `${ctx.v4Prefix()}.30`
    const users = Array.from({ length: 6 }, () => ({
      holder: { client_id: client, subject: ctx.id('user') },
      ip: `${ctx.v4Prefix()}.${rng.int(2, 250)}`,
    }))
    let emitted = 0
    while (emitted < ctx.budget) {
      const u = rng.pick(users)
      const t = drawTime(rng, world.start, world.end - HOUR, workWeight)
      const scopes = [mcp.scopes[0]!]
      const token = issue(ctx, t, {
        holder: u.holder,
        ip: u.ip,
        grant: 'refresh_token',
        requested: [mcp.resource],
        scopes,
        lifetimeS: 900,
        attributes: { grant_resources: [mcp.resource] },
      })
      present(ctx, t + 2000, { holder: u.holder, server: mcp, token, ip: u.ip })
      // The MCP server exchanges the user's token for one bound to the API.
      const hop = (
        subject: typeof token,
        target: typeof first,
        actor: string,
        ip: string,
        at: number,
      ) => {
        const times = ctx.tokenTimes(at, 300)
        const out = {
          jti: ctx.id('xt'),
          ...times,
          aud: [target.resource],
          scopes: [target.scopes[0]!],
        }
        ctx.emit(
          {
            event_type: 'token.exchanged',
            source: { kind: 'authorization_server', id: 'as-1' },
            issuer: world.issuer,
            ...u.holder,
            network: { ip },
            token: { ...out, format: 'jwt' },
            subject_token: { jti: subject.jti },
            actor: { client_id: actor },
            requested_resources: [target.resource],
            granted_aud: [target.resource],
          },
          at,
          world.asSkewMs,
        )
        present(ctx, at + 800, { holder: u.holder, server: target, token: out, ip })
        return out
      }
      const down = hop(token, first, mcp.id, serverIp, t + 2500)
      emitted += 4
      if (rng.chance(0.4)) {
        hop(down, second, first.id, apiIp, t + 4000)
        emitted += 2
      }
    }
  },
}
