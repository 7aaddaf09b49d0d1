/**
 * Attack (posture): a client configured with another spelling of an MCP server's URI, which the
 * AS copies into `aud` and a lenient server accepts (exact `aud` matching would refuse it: RFC
 * 7519 §4.1.3). Instance 0: a trailing slash; 1: an uppercase host with the default port.
 */
import { canonicalizeResource } from '../../../src/events/resource.js'
import type { Family } from '../corpus.js'
import { issue, present } from './lib.js'
import { attackHour } from './victims.js'

export const attackResourceDrift: Family = {
  id: 'attack-resource-drift',
  kind: 'attack',
  description: "clients and tokens using another spelling of a server's resource URI",
  weight: 2,
  generate(ctx) {
    const { rng, world } = ctx
    const at = attackHour(ctx)
    const server = rng.pick(world.servers.filter((s) => s.kind === 'mcp' && s.aliases.length === 0))
    const url = new URL(server.resource)
    const spelling =
      ctx.instance === 0
        ? `${server.resource}/`
        : `https://${url.host.toUpperCase()}:443${url.pathname}`
    const holder = { client_id: ctx.id('ide-plugin'), subject: ctx.id('user') }
    const ip = `${ctx.v4Prefix()}.${rng.int(2, 250)}`
    const token = issue(ctx, at, {
      holder,
      ip,
      grant: 'authorization_code',
      requested: [spelling],
      scopes: [server.scopes[0]!],
      lifetimeS: 900,
      attributes: { grant_resources: [spelling] },
    })
    for (let i = 0; i < 4; i++)
      present(ctx, at + 4000 + i * 50_000, { holder, server, token, ip, audValidated: false })
    const driftKey = canonicalizeResource(spelling).driftKey
    ctx.expect({ rule: 'resource-uri-drift', keys: { drift_key: driftKey } })
    ctx.allow({ rule: 'unvalidated-audience', keys: { resource: server.resource } })
    ctx.allow({ rule: 'aud-mismatch-accepted', keys: { client_id: holder.client_id } })
  },
}
