/**
 * Attack: token passthrough on the token's first call, by an MCP server that logs after it
 * answers. Its downstream call with the user's token (its own address, its configured outbound
 * User-Agent) happens while it serves the call, so the API's event occurs, and is received,
 * before the server's own event of that call: the rule must decide when either side arrives.
 * Instance 0: the API serves it without an `aud` check; instance 1: the API refuses it.
 */
import { serverAgent, type Family } from '../corpus.js'
import { present } from './lib.js'
import { attackHour, person } from './victims.js'

export const attackTokenPassthroughFirstCall: Family = {
  id: 'attack-token-passthrough-first-call',
  kind: 'attack',
  description: "a passthrough on the token's first call, the API's event received first",
  weight: 2,
  generate(ctx) {
    const { rng, world } = ctx
    const at = attackHour(ctx)
    const mcp = rng.pick(world.servers.filter((s) => s.kind === 'mcp' && s.aliases.length === 0))
    const api = rng.pick(world.servers.filter((s) => s.kind === 'api' && s.aliases.length === 0))
    // A fresh token for the last session, not yet used at the server.
    const victim = person(ctx, { server: mcp, until: at, last: 0 })
    const serverIp = `${ctx.v4Prefix()}.20`
    const accepted = ctx.instance === 0
    const call = at + rng.int(5_000, 30_000)
    // The server calls the API while serving the first tool call ...
    present(ctx, call + rng.int(200, 900), {
      holder: victim.holder,
      server: api,
      token: victim.token,
      ip: serverIp,
      userAgent: `${serverAgent(mcp)}3.1.0 node-fetch`,
      decision: accepted ? 'accepted' : 'rejected',
      reason: accepted ? 'ok' : 'aud_mismatch',
      audValidated: !accepted,
    })
    // ... and records the call once it has answered, a second or two later; the user goes on.
    for (let i = 0; i < rng.int(1, 4); i++)
      present(ctx, call + 2_000 + i * rng.int(40_000, 70_000), {
        holder: victim.holder,
        server: mcp,
        token: victim.token,
        ip: victim.ip,
      })
    const token_key = victim.token.jti
    const client_id = victim.holder.client_id
    const resource = api.resource
    ctx.expect({ rule: 'token-passthrough', keys: { token_key, server: mcp.resource, resource } })
    ctx.expect({ rule: 'cross-audience-replay', keys: { token_key, resource } })
    if (accepted) {
      ctx.expect({ rule: 'aud-mismatch-accepted', keys: { token_key, resource, client_id } })
      ctx.expect({ rule: 'unvalidated-audience', keys: { resource } })
    } else ctx.expect({ rule: 'aud-mismatch-rejected', keys: { token_key, resource, client_id } })
    ctx.allow({ rule: 'new-resource-for-client', keys: { client_id, resource } })
    ctx.allow({ rule: 'token-multi-source', keys: { token_key } })
  },
}
