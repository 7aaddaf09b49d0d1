/**
 * Attack (posture): a client that sends `resource` with no usable value, so the AS falls back to
 * its default audience. Instance 0: `resource=` empty on the authorization request and a
 * relative `/mcp` on the token request; instance 1: `resource=` empty on a refresh;
 * instance 2: no `resource` at all on a client-credentials request; instance 3: the server's
 * host and path without a scheme on a refresh; instance 4: only whitespace, and the resource
 * with a fragment (RFC 8707 §2: "MUST NOT include a fragment component"), on a
 * client-credentials request.
 */
import type { Family } from '../corpus.js'
import { authorize, issue, present } from './lib.js'
import { attackHour } from './victims.js'

export const attackMissingResource: Family = {
  id: 'attack-missing-resource',
  kind: 'attack',
  description: 'authorization and token requests whose resource is empty, relative or absent',
  weight: 5,
  generate(ctx) {
    const { rng, world } = ctx
    const at = attackHour(ctx)
    const server = rng.pick(world.servers.filter((s) => s.kind === 'mcp'))
    const client = ctx.id('legacy-agent')
    // Instances 2 and 4 are client-credentials requests: the client is the subject.
    const service = ctx.instance === 2 || ctx.instance === 4
    const holder = { client_id: client, subject: service ? client : ctx.id('user') }
    const ip = `${ctx.v4Prefix()}.${rng.int(2, 250)}`
    const scopes = [server.scopes[0]!]
    // The AS grants its default audience for the client: the server it is registered for.
    const granted = { aud: [server.resource], scopes, lifetimeS: 900, holder, ip }
    let token
    if (ctx.instance === 0) {
      authorize(ctx, at, { holder, ip, requested: [''], scopes })
      token = issue(ctx, at + 5000, {
        ...granted,
        grant: 'authorization_code',
        requested: ['/mcp'],
      })
      ctx.expect({
        rule: 'missing-resource-indicator',
        keys: { client_id: client, event_type: 'authorization.requested' },
      })
    } else {
      const requested = [
        [''],
        [],
        [server.resource.replace(/^https:\/\//, '')],
        [' ', `${server.resource}#tools`],
      ][ctx.instance - 1]!
      token = issue(ctx, at, {
        ...granted,
        grant: ctx.instance % 2 === 1 ? 'refresh_token' : 'client_credentials',
        requested,
      })
    }
    ctx.expect({
      rule: 'missing-resource-indicator',
      keys: { client_id: client, event_type: 'token.issued' },
    })
    // The token's audience was never asked for: granted-aud-mismatch may say so as well.
    ctx.allow({ rule: 'granted-aud-mismatch', keys: { client_id: client } })
    for (let i = 0; i < 5; i++)
      present(ctx, at + 10_000 + i * 30_000, { holder, server, token, ip })
  },
}
