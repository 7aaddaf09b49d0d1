/**
 * Attack: an MCP server that forwards the user's token to a downstream API instead of exchanging
 * it (the "token passthrough" the MCP specification forbids). The API call comes from the
 * server's own address with its outbound client's User-Agent, which the operator configured
 * (`serverUserAgents`). Instance 0: the API does not check `aud` and serves it; instance 1: the
 * API checks and refuses it (the server still tried).
 */
import { serverAgent, type Family } from '../corpus.js'
import { present } from './lib.js'
import { attackHour, person } from './victims.js'

export const attackTokenPassthrough: Family = {
  id: 'attack-token-passthrough',
  kind: 'attack',
  description: "an MCP server passing the client's token on to a downstream API",
  weight: 2,
  generate(ctx) {
    const { rng, world } = ctx
    const at = attackHour(ctx)
    const mcp = rng.pick(world.servers.filter((s) => s.kind === 'mcp' && s.aliases.length === 0))
    const api = rng.pick(world.servers.filter((s) => s.kind === 'api' && s.aliases.length === 0))
    const victim = person(ctx, { server: mcp, until: at, last: 4 })
    const serverIp = `${ctx.v4Prefix()}.20`
    const accepted = ctx.instance === 0
    // While serving the user's last tool call, the server calls the API with the same token.
    const t = victim.requests[victim.requests.length - 1]! + rng.int(300, 1500)
    present(ctx, t, {
      holder: victim.holder,
      server: api,
      token: victim.token,
      ip: serverIp,
      userAgent: `${serverAgent(mcp)}3.1.0 node-fetch`,
      decision: accepted ? 'accepted' : 'rejected',
      reason: accepted ? 'ok' : 'aud_mismatch',
      audValidated: !accepted,
    })
    const token_key = victim.token.jti
    const client_id = victim.holder.client_id
    const resource = api.resource
    ctx.expect({ rule: 'token-passthrough', keys: { token_key, server: mcp.resource, resource } })
    // The same presentation is a token outside its audience: the replay rules see it as well.
    ctx.expect({ rule: 'cross-audience-replay', keys: { token_key, resource } })
    if (accepted) {
      ctx.expect({ rule: 'aud-mismatch-accepted', keys: { token_key, resource, client_id } })
      ctx.expect({ rule: 'unvalidated-audience', keys: { resource } })
    } else ctx.expect({ rule: 'aud-mismatch-rejected', keys: { token_key, resource, client_id } })
    ctx.allow({ rule: 'new-resource-for-client', keys: { client_id, resource } })
    ctx.allow({ rule: 'token-multi-source', keys: { token_key } })
  },
}
