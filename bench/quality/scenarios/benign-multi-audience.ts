/**
 * Benign: tokens that name two APIs on purpose, both registered `multi_audience_allowed`, used
 * at both (fan-out within a declared audience is not replay); the audience names one of them by
 * an alias now and then.
 */
import type { Family } from '../corpus.js'
import { drawTime, HOUR, issue, MINUTE, present, workWeight } from './lib.js'

export const benignMultiAudience: Family = {
  id: 'benign-multi-audience',
  kind: 'benign',
  description: 'declared multi-audience tokens used at each of their audiences',
  weight: 0.06,
  generate(ctx) {
    const { rng, world } = ctx
    const both = world.servers.filter((s) => s.multiAudience)
    const holder = { client_id: ctx.id('checkout-agent'), subject: ctx.id('user') }
    const ip = `${ctx.v4Prefix()}.44`
    let emitted = 0
    while (emitted < ctx.budget) {
      const t = drawTime(rng, world.start, world.end - HOUR, workWeight)
      const aud = both.map((s) => s.resource)
      const token = issue(ctx, t, {
        holder,
        ip,
        grant: 'refresh_token',
        requested: aud,
        scopes: both.map((s) => s.scopes[0]!),
        lifetimeS: 1800,
        attributes: { grant_resources: aud },
      })
      emitted += 1
      const n = rng.int(2, 8)
      for (let i = 0; i < n; i++) {
        present(ctx, t + (i + 1) * rng.int(5000, MINUTE), {
          holder,
          server: rng.pick(both),
          token,
          ip,
        })
        emitted += 1
      }
    }
  },
}
