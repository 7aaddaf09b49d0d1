/**
 * Attack (AS policy): audiences that do not pin a token to one resource, accepted by lax servers.
 * Instance 0: the issuer itself as `aud` (a default of some AS products); 1: the bare origin
 * `https://api.example.com`, which every path-scoped API on that host would accept (RFC 8707 §2
 * asks for the most specific URI); 2: a logical name that is not a URI (`orders`).
 */
import type { Family } from '../corpus.js'
import { issue, present } from './lib.js'
import { attackHour } from './victims.js'

export const attackOverbroadAudience: Family = {
  id: 'attack-overbroad-audience',
  kind: 'attack',
  description: 'tokens whose aud is the issuer, a bare origin or a logical name',
  weight: 3,
  generate(ctx) {
    const { rng, world } = ctx
    const at = attackHour(ctx)
    const api = rng.pick(world.servers.filter((s) => s.kind === 'api' && s.aliases.length === 0))
    const holder = { client_id: ctx.id('report-job'), subject: '' }
    holder.subject = holder.client_id
    const ip = `${ctx.v4Prefix()}.${rng.int(2, 250)}`
    const name = new URL(api.resource).pathname.slice(1)
    const audience = [world.issuer, new URL(api.resource).origin, name][ctx.instance]!
    const token = issue(ctx, at, {
      holder,
      ip,
      grant: 'client_credentials',
      requested: [api.resource],
      aud: [audience],
      scopes: [api.scopes[0]!],
      lifetimeS: 900,
    })
    // The API accepts it: it checks only that `aud` is present (or matches by prefix).
    for (let i = 0; i < 4; i++)
      present(ctx, at + 3000 + i * 30_000, {
        holder,
        server: api,
        token,
        ip,
        audValidated: false,
      })
    const client_id = holder.client_id
    ctx.expect({ rule: 'overbroad-audience', keys: { client_id, audience } })
    ctx.expect({ rule: 'granted-aud-mismatch', keys: { client_id, requested: api.resource } })
    ctx.allow({ rule: 'aud-mismatch-accepted', keys: { client_id } })
    ctx.allow({ rule: 'unvalidated-audience', keys: { resource: api.resource } })
    ctx.allow({ rule: 'cross-audience-replay', keys: { token_key: token.jti } })
  },
}
