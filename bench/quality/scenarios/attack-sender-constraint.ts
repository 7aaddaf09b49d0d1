/**
 * Attacks on sender-constrained (DPoP-bound, RFC 9449) tokens of a client-credentials agent at an
 * MCP server scaled out to several instances: a bound token accepted as Bearer by an instance in
 * observe mode (downgrade), a proof replayed at a second instance, a proof by another key, a
 * proof made for another server, then the client getting a bearer token (binding dropped).
 */
import { createHash } from 'node:crypto'
import type { FamilyContext, Server } from '../corpus.js'
import { HOUR, MINUTE, type Holder } from './lib.js'
import { attackHour } from './victims.js'

const thumbprint = (seed: string) => createHash('sha256').update(seed).digest('base64url')

interface Bound {
  jti: string
  iat: number
  exp: number
  jkt?: string
}

function issueBound(
  ctx: FamilyContext,
  t: number,
  holder: Holder,
  ip: string,
  server: Server,
  jkt: string | undefined,
): Bound {
  const times = ctx.tokenTimes(t, 900)
  const token = { jti: ctx.id('at'), ...times, ...(jkt !== undefined && { jkt }) }
  ctx.emit(
    {
      event_type: 'token.issued',
      source: { kind: 'authorization_server', id: 'as-1' },
      issuer: ctx.world.issuer,
      ...holder,
      network: { ip },
      token: {
        jti: token.jti,
        iat: token.iat,
        exp: token.exp,
        aud: [server.resource],
        scopes: [server.scopes[0]!],
        format: 'jwt',
        ...(jkt !== undefined && { cnf: { jkt } }),
      },
      grant_type: 'client_credentials',
      requested_resources: [server.resource],
      granted_aud: [server.resource],
      requested_scopes: [server.scopes[0]!],
      granted_scopes: [server.scopes[0]!],
      attributes: { token_type: jkt === undefined ? 'Bearer' : 'DPoP' },
    },
    t,
    ctx.world.asSkewMs,
  )
  return token
}

function presentBound(
  ctx: FamilyContext,
  t: number,
  o: {
    holder: Holder
    server: Server
    instance: number
    token: Bound
    ip: string
    decision: 'accepted' | 'rejected'
    proof: Record<string, unknown>
  },
): void {
  const { server, token } = o
  const name = ctx.rng.pick(server.tools)
  ctx.emit(
    {
      event_type: 'token.presented',
      source: { kind: 'mcp_server', id: `${server.id}-${o.instance}` },
      issuer: ctx.world.issuer,
      ...o.holder,
      network: { ip: o.ip },
      token: {
        jti: token.jti,
        iat: token.iat,
        exp: token.exp,
        aud: [server.resource],
        format: 'jwt',
        ...(token.jkt !== undefined && { cnf: { jkt: token.jkt } }),
      },
      resource: server.resource,
      presented_aud: [server.resource],
      aud_validated: true,
      decision: o.decision,
      reason: o.decision === 'accepted' ? 'ok' : 'other',
      tool: { method: 'tools/call', name, header_method: 'tools/call', header_name: name },
      http: { method: 'POST', path: '/mcp', status: o.decision === 'accepted' ? 200 : 401 },
      proof: o.proof,
    },
    t,
    server.skewMs,
  )
}

export const attackSenderConstraint = {
  id: 'attack-sender-constraint',
  kind: 'attack' as const,
  description:
    'a DPoP-bound agent: its token accepted as Bearer, a proof replayed at another instance, proofs by another key and for another server, then a bearer token',
  weight: 1,
  generate(ctx: FamilyContext) {
    const { rng, world } = ctx
    const at = attackHour(ctx)
    const server = rng.pick(world.servers.filter((s) => s.kind === 'mcp'))
    const client = ctx.id('dpop-agent')
    const holder = { client_id: client, subject: client }
    const ip = `${ctx.v4Prefix()}.${rng.int(2, 250)}`
    const jkt = thumbprint(ctx.id('key'))
    const proof = (t: number, o: Record<string, unknown> = {}) => ({
      scheme: 'DPoP',
      verdict: 'valid',
      jti_fingerprint: thumbprint(ctx.id('proof')),
      iat: Math.floor(t / 1000),
      htm: 'POST',
      htu: server.resource,
      ath: 'match',
      alg: 'ES256',
      jkt,
      ...o,
    })
    // History: three bound tokens (two and one hour before, the last five minutes before the
    // attacks, which happen while it is valid), each used with fresh proofs.
    const tokens: Bound[] = []
    for (let i = 0; i < 3; i++) {
      const t = i === 2 ? at - 5 * MINUTE : at - (2 - i) * HOUR
      const token = issueBound(ctx, t, holder, ip, server, jkt)
      tokens.push(token)
      for (let r = 0; r < 3; r++) {
        const tr = t + 5000 + r * MINUTE
        presentBound(ctx, tr, {
          holder,
          server,
          instance: 1,
          token,
          ip,
          decision: 'accepted',
          proof: proof(tr),
        })
      }
    }
    const token = tokens[2]!
    const key = { token_key: token.jti, resource: server.resource }
    // An instance in observe mode serves the bound token sent as Bearer.
    presentBound(ctx, at, {
      holder,
      server,
      instance: 2,
      token,
      ip: `${ctx.v4Prefix()}.9`,
      decision: 'accepted',
      proof: { scheme: 'Bearer', verdict: 'invalid', failure: 'bound_token_as_bearer' },
    })
    ctx.expect({ rule: 'bound-token-downgrade', keys: key })
    // The Bearer use comes from another network between the owner's own requests: a replay that
    // token-multi-source may see too (once it knows the client's network from its other tokens).
    ctx.allow({ rule: 'token-multi-source', keys: { token_key: token.jti, client_id: client } })
    // One proof at instance 1, the same proof two seconds later at instance 3.
    const replayed = proof(at + MINUTE)
    for (const [i, dt] of [
      [1, MINUTE],
      [3, MINUTE + 2000],
    ] as const)
      presentBound(ctx, at + dt, {
        holder,
        server,
        instance: i,
        token,
        ip,
        decision: 'accepted',
        proof: replayed,
      })
    ctx.expect({
      rule: 'dpop-proof-replay',
      keys: { token_key: token.jti, proof_jti: String(replayed.jti_fingerprint) },
    })
    // A proof by the attacker's own key, and one made for another server: refused.
    presentBound(ctx, at + 2 * MINUTE, {
      holder,
      server,
      instance: 1,
      token,
      ip,
      decision: 'rejected',
      proof: proof(at + 2 * MINUTE, {
        verdict: 'invalid',
        failure: 'jkt_mismatch',
        jkt: thumbprint(ctx.id('attacker-key')),
      }),
    })
    ctx.expect({ rule: 'proof-key-mismatch', keys: key })
    presentBound(ctx, at + 3 * MINUTE, {
      holder,
      server,
      instance: 1,
      token,
      ip,
      decision: 'rejected',
      proof: proof(at + 3 * MINUTE, {
        verdict: 'invalid',
        failure: 'htu_mismatch',
        htu: 'https://elsewhere.example/api',
      }),
    })
    ctx.expect({ rule: 'dpop-htu-mismatch', keys: key })
    // Then the client gets a bearer token.
    issueBound(ctx, at + 10 * MINUTE, holder, ip, server, undefined)
    ctx.expect({ rule: 'sender-binding-dropped', keys: { client_id: client } })
  },
}
