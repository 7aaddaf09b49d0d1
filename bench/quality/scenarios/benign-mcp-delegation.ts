/**
 * Benign: MCP servers that do downstream calls the right way, from their own address with their
 * configured outbound User-Agent. Traps for token-passthrough and delegation-chain-violation: the
 * user's token carries `may_act` naming the server, the server exchanges it (RFC 8693) and calls
 * the API with the new token right after accepting the user's; now and then the API delegates
 * on, three hops in all (the default limit); the server also calls with its own
 * client-credentials token; and an exchange for a resource with that resource's own scopes.
 */
import { serverAgent, type Family } from '../corpus.js'
import { drawTime, exchange, HOUR, issue, mcpServers, present, workWeight } from './lib.js'

export const benignMcpDelegation: Family = {
  id: 'benign-mcp-delegation',
  kind: 'benign',
  description: 'MCP servers exchanging tokens (may_act) and calling APIs with their own identity',
  weight: 0.06,
  generate(ctx) {
    const { rng, world } = ctx
    const mcp = rng.pick(mcpServers(ctx).filter((s) => s.aliases.length === 0))
    const apis = world.servers.filter((s) => s.kind === 'api' && !s.multiAudience)
    const agent = `${serverAgent(mcp)}3.1.0 node-fetch`
    const client = ctx.id('chat-agent')
    const serverIp = `${ctx.v4Prefix()}.20`
    const serverHolder = { client_id: mcp.id, subject: mcp.id }
    const users = Array.from({ length: 5 }, () => ({
      holder: { client_id: client, subject: ctx.id('user') },
      ip: `${ctx.v4Prefix()}.${rng.int(2, 250)}`,
    }))
    let own: ReturnType<typeof issue> | undefined
    let emitted = 0
    while (emitted < ctx.budget) {
      const u = rng.pick(users)
      const t = drawTime(rng, world.start, world.end - HOUR, workWeight)
      const token = issue(ctx, t, {
        holder: u.holder,
        ip: u.ip,
        grant: 'refresh_token',
        requested: [mcp.resource],
        scopes: [mcp.scopes[0]!],
        lifetimeS: 900,
        attributes: { grant_resources: [mcp.resource], may_act: { client_id: mcp.id } },
      })
      present(ctx, t + 1500, { holder: u.holder, server: mcp, token, ip: u.ip })
      emitted += 2
      const api = rng.pick(apis)
      let subject = exchange(ctx, t + 2000, {
        holder: u.holder,
        subject: token,
        actor: mcp.id,
        ip: serverIp,
        aud: [api.resource],
        scopes: [api.scopes[0]!],
        userAgent: agent,
      })
      present(ctx, t + 2600, {
        holder: u.holder,
        server: api,
        token: subject,
        ip: serverIp,
        userAgent: agent,
      })
      emitted += 2
      if (rng.chance(0.25)) {
        // The API hands part of the work on; so does the next one: depth 3 in all.
        let actor = api
        for (let hop = 0; hop < 2; hop++) {
          const next = apis[(apis.indexOf(actor) + 1) % apis.length]!
          const ipNext = `${serverIp.split('.').slice(0, 3).join('.')}.${31 + hop}`
          subject = exchange(ctx, t + 3500 + hop * 900, {
            holder: u.holder,
            subject,
            actor: actor.id,
            ip: ipNext,
            aud: [next.resource],
            scopes: [next.scopes[0]!],
          })
          present(ctx, t + 3900 + hop * 900, {
            holder: u.holder,
            server: next,
            token: subject,
            ip: ipNext,
          })
          actor = next
          emitted += 2
        }
      }
      if (rng.chance(0.3)) {
        // Its own token for its own work (a cache refresh), same address, same User-Agent.
        if (own === undefined || own.exp * 1000 < t + 60_000 + world.asSkewMs)
          own = issue(ctx, t + 3000, {
            holder: serverHolder,
            ip: serverIp,
            grant: 'client_credentials',
            requested: [api.resource],
            aud: [api.resource],
            scopes: [api.scopes[0]!],
            lifetimeS: 3600,
          })
        if (own.aud[0] === api.resource) {
          present(ctx, t + 4000, {
            holder: serverHolder,
            server: api,
            token: own,
            ip: serverIp,
            userAgent: agent,
          })
          emitted += 1
        }
        emitted += 1
      }
    }
  },
}
