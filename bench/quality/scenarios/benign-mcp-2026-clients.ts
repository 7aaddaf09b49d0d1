/**
 * Benign: MCP clients of revision 2026-07-28 that send the standard headers (`Mcp-Method`,
 * `Mcp-Name`, `MCP-Protocol-Version`) mirroring the body, through a gateway or not; `tools/list`
 * and notifications that need no `Mcp-Name`; older 2025-11-25 clients that send no headers;
 * tokens that also carry OpenID Connect scopes; an hour-long token (the policy's limit). Traps
 * for mcp-unvalidated-headers, mcp-tool-header-mismatch, scope-not-valid-for-resource and
 * long-lived-token.
 */
import type { Family } from '../corpus.js'
import { drawTime, HOUR, issue, MINUTE, mcpServers, present, workWeight } from './lib.js'

export const benignMcp2026Clients: Family = {
  id: 'benign-mcp-2026-clients',
  kind: 'benign',
  description: 'MCP clients of two revisions, headers mirrored or absent, through a gateway or not',
  weight: 0.08,
  generate(ctx) {
    const { rng, world } = ctx
    const servers = mcpServers(ctx)
    const kinds = [
      { name: 'Claude Desktop', version: '2026-07-28', gateway: false },
      { name: 'cursor-vscode', version: '2026-07-28', gateway: true },
      { name: 'legacy-cli', version: '2025-11-25', gateway: false },
    ]
    const clients = Array.from({ length: 6 }, (_, i) => ({
      holder: { client_id: ctx.id('mcp-client'), subject: ctx.id('user') },
      ip: `${ctx.v4Prefix()}.${rng.int(2, 250)}`,
      kind: kinds[i % kinds.length]!,
      server: rng.pick(servers),
    }))
    let emitted = 0
    while (emitted < ctx.budget) {
      const c = rng.pick(clients)
      const { server, holder, ip, kind } = c
      const t = drawTime(rng, world.start, world.end - HOUR, workWeight)
      const token = issue(ctx, t, {
        holder,
        ip,
        grant: 'refresh_token',
        requested: [server.resource],
        scopes: ['openid', 'offline_access', server.scopes[0]!],
        lifetimeS: rng.pick([900, 3600]),
        attributes: { grant_resources: [server.resource] },
      })
      emitted += 1
      const v2026 = kind.version === '2026-07-28'
      const attributes = {
        mcp_protocol_version: kind.version,
        ...(v2026 && { mcp_meta_protocol_version: kind.version }),
        mcp_client: { name: kind.name, version: '1.4.2' },
      }
      const n = rng.int(3, 10)
      for (let i = 0; i < n; i++) {
        const r = rng.next()
        const name = rng.pick(server.tools)
        const body =
          i === 0
            ? { method: 'notifications/initialized' }
            : r < 0.2
              ? { method: 'tools/list' }
              : { method: 'tools/call', name }
        const tool = v2026
          ? {
              ...body,
              header_method: body.method,
              ...('name' in body && { header_name: name }),
            }
          : body
        present(ctx, t + 3000 + i * rng.int(10_000, MINUTE), {
          holder,
          server,
          token,
          ip,
          tool,
          attributes,
          ...(kind.gateway && { source: { kind: 'gateway', id: 'edge-gateway' } }),
        })
        emitted += 1
      }
    }
  },
}
