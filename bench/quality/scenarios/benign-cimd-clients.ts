/**
 * Benign: a client identified by a Client ID Metadata Document URL (MCP 2025-11-25 and later),
 * which is portable by design: the same client id at the tenant's AS and at a partner AS that
 * one MCP server also trusts (RFC 9728 `authorization_servers` lists both); and the tenant's AS
 * spelled with a trailing slash by one of its own components. Trap for client-id-multiple-issuers.
 */
import type { Family } from '../corpus.js'
import { authorize, drawTime, HOUR, issue, mcpServers, present, workWeight } from './lib.js'

export const benignCimdClients: Family = {
  id: 'benign-cimd-clients',
  kind: 'benign',
  description: 'a CIMD URL client id at two authorization servers; one issuer in two spellings',
  weight: 0.04,
  generate(ctx) {
    const { rng, world } = ctx
    const server = rng.pick(mcpServers(ctx))
    const client = `https://app.${ctx.id('notes')}.example.com/oauth/client-metadata.json`
    const partner = 'https://auth.partner.example.com'
    const users = Array.from({ length: 4 }, () => ({
      holder: { client_id: client, subject: ctx.id('user') },
      ip: `${ctx.v4Prefix()}.${rng.int(2, 250)}`,
      issuer: rng.pick([world.issuer, `${world.issuer}/`, partner]),
    }))
    let emitted = 0
    while (emitted < ctx.budget) {
      const u = rng.pick(users)
      const t = drawTime(rng, world.start, world.end - HOUR, workWeight)
      const scopes = [server.scopes[0]!]
      authorize(ctx, t, { ...u, requested: [server.resource], scopes })
      const token = issue(ctx, t + 6000, {
        ...u,
        grant: 'authorization_code',
        requested: [server.resource],
        scopes,
        lifetimeS: 900,
        attributes: { grant_resources: [server.resource] },
      })
      emitted += 2
      const n = rng.int(2, 6)
      for (let i = 0; i < n; i++) {
        present(ctx, t + 10_000 + i * 30_000, { holder: u.holder, server, token, ip: u.ip })
        emitted += 1
      }
    }
  },
}
