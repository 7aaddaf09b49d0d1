/**
 * Attack: a token minted for one server replayed at another. Instance 0: the other server does
 * not check `aud` and accepts it; instance 1: it checks and refuses.
 */
import type { Family } from '../corpus.js'
import { present } from './lib.js'
import { attackHour, person } from './victims.js'

export const attackCrossAudience: Family = {
  id: 'attack-cross-audience',
  kind: 'attack',
  description:
    'a token for one server presented at another, accepted without an aud check or refused',
  weight: 2,
  generate(ctx) {
    const { rng, world } = ctx
    const at = attackHour(ctx)
    const mcp = world.servers.filter((s) => s.kind === 'mcp' && s.aliases.length === 0)
    const server = rng.pick(mcp)
    const target = rng.pick(mcp.filter((s) => s !== server))
    const victim = person(ctx, { server, until: at, last: 4 })
    const ip = `${ctx.v4Prefix()}.${rng.int(2, 250)}`
    const accepted = ctx.instance === 0
    const t = victim.requests[victim.requests.length - 1]! + 20_000
    present(ctx, t, {
      holder: victim.holder,
      server: target,
      token: victim.token,
      ip,
      decision: accepted ? 'accepted' : 'rejected',
      reason: accepted ? 'ok' : 'aud_mismatch',
      audValidated: !accepted,
    })
    const token_key = victim.token.jti
    const client_id = victim.holder.client_id
    const resource = target.resource
    ctx.expect({ rule: 'cross-audience-replay', keys: { token_key, resource } })
    if (accepted) {
      ctx.expect({ rule: 'aud-mismatch-accepted', keys: { token_key, resource, client_id } })
      ctx.expect({ rule: 'unvalidated-audience', keys: { resource } })
    } else ctx.expect({ rule: 'aud-mismatch-rejected', keys: { token_key, resource, client_id } })
    // The victim's client (first seen at 09:00 on the first day) never used the target: a first
    // use, which new-resource-for-client reports once the client has a week of history.
    const firstUse = { rule: 'new-resource-for-client', keys: { client_id, resource } }
    if (t - (world.start + 9 * 3_600_000) >= 7 * 86_400_000) ctx.expect(firstUse)
    else ctx.allow(firstUse)
    // The replay is also the token from a second network.
    ctx.allow({ rule: 'token-multi-source', keys: { token_key } })
  },
}
