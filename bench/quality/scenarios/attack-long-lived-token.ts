/**
 * Attack (posture): access tokens that live far longer than policy (default one hour): a
 * service account given a 30-day token "so the job never fails", and a desktop agent's 24-hour
 * token. A leaked one stays usable for its whole life (MCP Token Theft; OWASP NHI7).
 */
import type { Family } from '../corpus.js'
import { issue, present } from './lib.js'
import { attackHour } from './victims.js'

export const attackLongLivedToken: Family = {
  id: 'attack-long-lived-token',
  kind: 'attack',
  description: 'access tokens issued for a day or a month',
  weight: 2,
  generate(ctx) {
    const { rng, world } = ctx
    const at = attackHour(ctx)
    const service = ctx.instance === 0
    const server = rng.pick(world.servers.filter((s) => s.kind === (service ? 'api' : 'mcp')))
    const client = ctx.id(service ? 'etl-job' : 'desktop-agent')
    const holder = { client_id: client, subject: service ? client : ctx.id('user') }
    const ip = `${ctx.v4Prefix()}.${rng.int(2, 250)}`
    const token = issue(ctx, at, {
      holder,
      ip,
      grant: service ? 'client_credentials' : 'authorization_code',
      requested: [server.resource],
      scopes: [server.scopes[0]!],
      lifetimeS: service ? 30 * 86_400 : 86_400,
      ...(!service && { attributes: { grant_resources: [server.resource] } }),
    })
    for (let i = 0; i < 5; i++)
      present(ctx, at + 3000 + i * 15 * 60_000, { holder, server, token, ip })
    ctx.expect({ rule: 'long-lived-token', keys: { client_id: client } })
  },
}
