/**
 * Attack: a server that does not check `exp` accepts a token well past its expiry (a stolen
 * token kept and used later, from the owner's network or elsewhere).
 */
import type { Family } from '../corpus.js'
import { present } from './lib.js'
import { attackHour, person } from './victims.js'

export const attackExpiredToken: Family = {
  id: 'attack-expired-token',
  kind: 'attack',
  description: 'a token accepted ten minutes to two hours after it expired',
  weight: 2,
  generate(ctx) {
    const { rng, world } = ctx
    const at = attackHour(ctx)
    const server = rng.pick(world.servers)
    const victim = person(ctx, { server, until: at, last: 3, lifetimeS: 900 })
    const t = victim.token.exp * 1000 - world.asSkewMs + rng.int(10, 120) * 60_000
    present(ctx, t, {
      holder: victim.holder,
      server,
      token: victim.token,
      ip: ctx.instance === 0 ? victim.ip : `${ctx.v4Prefix()}.9`,
      decision: 'accepted',
    })
    ctx.expect({
      rule: 'expired-token-accepted',
      keys: { token_key: victim.token.jti, resource: server.resource },
    })
  },
}
