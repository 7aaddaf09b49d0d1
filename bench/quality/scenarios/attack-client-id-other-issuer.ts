/**
 * Attack: a pre-registered client's credentials used at a second authorization server: a mix-up,
 * where the client followed protected resource metadata (RFC 9728) naming an attacker's AS and
 * sent it the client id it holds for the real one. The current MCP revision binds client
 * credentials to their issuer. Instance 0: a look-alike host of the real AS; 1: a partner AS
 * the client never registered with.
 */
import type { Family } from '../corpus.js'
import { authorize, issue } from './lib.js'
import { attackHour, person } from './victims.js'

export const attackClientIdOtherIssuer: Family = {
  id: 'attack-client-id-other-issuer',
  kind: 'attack',
  description: "a client id registered at the tenant's AS used at another issuer",
  weight: 2,
  generate(ctx) {
    const { rng, world } = ctx
    const at = attackHour(ctx)
    const server = rng.pick(world.servers.filter((s) => s.kind === 'mcp'))
    const victim = person(ctx, { server, until: at, last: 3 })
    const other =
      ctx.instance === 0
        ? `https://as-example-com.${rng.pick(['auth-login', 'sso-portal'])}.example.net`
        : 'https://login.partner.example.org'
    const t = victim.requests[victim.requests.length - 1]! + 30 * 60_000
    const scopes = [server.scopes[0]!]
    authorize(ctx, t, {
      holder: victim.holder,
      ip: victim.ip,
      requested: [server.resource],
      scopes,
      issuer: other,
    })
    issue(ctx, t + 8000, {
      holder: victim.holder,
      ip: victim.ip,
      grant: 'authorization_code',
      requested: [server.resource],
      scopes,
      lifetimeS: 3600,
      issuer: other,
    })
    ctx.expect({
      rule: 'client-id-multiple-issuers',
      keys: { client_id: victim.holder.client_id },
    })
  },
}
