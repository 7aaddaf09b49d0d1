/**
 * Attack: MCP requests whose standard headers (`Mcp-Method`, `Mcp-Name`, SEP-2243, required from
 * revision 2026-07-28) say one thing while the JSON-RPC body does another, so that a gateway
 * authorizes or meters a harmless tool while the server runs another. Instance 0: a 2026-07-28
 * request whose `Mcp-Name` names a read tool while the body writes, served; 1: a 2026-07-28
 * `tools/call` without `Mcp-Name`, served; 2: a gateway that routed a 2025-11-25 request on its
 * (unvalidated) mirrored headers, which disagree with the body; 3: the mismatch sent to a
 * conforming server, which refused it with 400 (-32020): an attempt, not a served request.
 */
import type { Family } from '../corpus.js'
import { issue, present } from './lib.js'
import { attackHour } from './victims.js'

export const attackMcpHeaderSmuggling: Family = {
  id: 'attack-mcp-header-smuggling',
  kind: 'attack',
  description:
    'MCP requests whose Mcp-Method/Mcp-Name headers disagree with the body or are missing',
  weight: 4,
  generate(ctx) {
    const { rng, world } = ctx
    const at = attackHour(ctx)
    const server = rng.pick(world.servers.filter((s) => s.kind === 'mcp'))
    const holder = { client_id: ctx.id('desktop-agent'), subject: ctx.id('user') }
    const ip = `${ctx.v4Prefix()}.${rng.int(2, 250)}`
    const info = { name: 'ScriptedClient', version: `0.${rng.int(1, 9)}.${rng.int(0, 20)}` }
    const v2026 = ctx.instance !== 2
    const version = v2026 ? '2026-07-28' : '2025-11-25'
    const attributes = {
      mcp_protocol_version: version,
      ...(v2026 && { mcp_meta_protocol_version: version }),
      mcp_client: info,
      traceparent: `00-${rng.hex(32)}-${rng.hex(16)}-01`,
    }
    const token = issue(ctx, at, {
      holder,
      ip,
      grant: 'refresh_token',
      requested: [server.resource],
      scopes: [...server.scopes],
      lifetimeS: 900,
      attributes: { grant_resources: [server.resource] },
    })
    const [harmless, target] = [server.tools[0]!, server.tools[server.tools.length - 1]!]
    // A few ordinary calls first, every header mirrored.
    for (let i = 0; i < 3; i++) {
      const name = rng.pick(server.tools)
      present(ctx, at + 2000 + i * 20_000, {
        holder,
        server,
        token,
        ip,
        tool: { method: 'tools/call', name, header_method: 'tools/call', header_name: name },
        attributes,
      })
    }
    const t = at + 90_000
    const smuggled = {
      method: 'tools/call',
      name: target,
      header_method: 'tools/call',
      header_name: harmless,
    }
    const resource = server.resource
    const client_id = holder.client_id
    const unvalidated = {
      rule: 'mcp-unvalidated-headers',
      keys: { resource, client_id, client_info: `${info.name}/${info.version}` },
    }
    const mismatch = { rule: 'mcp-tool-header-mismatch', keys: { resource, client_id } }
    if (ctx.instance === 0) {
      present(ctx, t, { holder, server, token, ip, tool: smuggled, attributes })
      ctx.expect(unvalidated)
      ctx.expect(mismatch)
    } else if (ctx.instance === 1) {
      const tool = { method: 'tools/call', name: target, header_method: 'tools/call' }
      present(ctx, t, { holder, server, token, ip, tool, attributes })
      ctx.expect(unvalidated)
    } else if (ctx.instance === 2) {
      const source = { kind: 'gateway', id: 'edge-gateway' }
      present(ctx, t, { holder, server, token, ip, tool: smuggled, attributes, source })
      ctx.expect(unvalidated)
      ctx.expect(mismatch)
    } else {
      present(ctx, t, { holder, server, token, ip, tool: smuggled, attributes, status: 400 })
      ctx.expect(mismatch)
    }
  },
}
