/**
 * Benign: services with client credentials (RFC 6749 §4.4), day and night. Traps: one token
 * shared by a worker fleet behind a NAT pool of four addresses (one /24, or two /24s of a cloud
 * NAT gateway), per-worker tokens from four prefixes, a nightly batch hour every day, hourly
 * counts that vary around their rate, and a fleet that only starts on the corpus' last day.
 */
import type { Family, FamilyContext, Server } from '../corpus.js'
import { apiServers, HOUR, issue, MINUTE, present, type Holder, type Token } from './lib.js'

interface Fleet {
  holder: Holder
  server: Server
  /** egress addresses */
  pool: string[]
  shared: boolean
  perHour: number
  batchHour: number | undefined
  lifetimeS: number
  startsAt: number
}

function fleet(ctx: FamilyContext): Fleet {
  const { rng, world } = ctx
  const client = ctx.id('svc')
  const shape = rng.int(0, 2)
  const a = ctx.v4Prefix()
  const b = ctx.v4Prefix()
  const pool =
    shape === 0
      ? [10, 11, 12, 13].map((d) => `${a}.${d}`) // a contiguous NAT pool
      : shape === 1
        ? [`${a}.7`, `${a}.90`, `${b}.33`, `${b}.201`] // a cloud NAT gateway's addresses
        : [ctx.v4Prefix(), ctx.v4Prefix(), ctx.v4Prefix(), ctx.v4Prefix()].map((p) => `${p}.5`)
  const late = rng.chance(0.12)
  return {
    holder: { client_id: client, subject: client },
    server: rng.chance(0.3)
      ? rng.pick(world.servers.filter((s) => s.kind === 'mcp'))
      : rng.pick(apiServers(ctx)),
    pool,
    // Per-worker tokens where the workers sit in different prefixes (one holder, four networks).
    shared: shape !== 2,
    perHour: rng.int(4, 60),
    batchHour: rng.chance(0.4) ? rng.int(0, 5) : undefined,
    lifetimeS: rng.pick([300, 900, 3600]),
    // A day-one fleet: deployed on the last day of the corpus.
    startsAt: late ? world.end - 24 * HOUR + rng.int(0, 12) * HOUR : world.start,
  }
}

function run(ctx: FamilyContext, f: Fleet): number {
  const { rng, world } = ctx
  let emitted = 0
  const tokens = new Map<number, Token>()
  const scopes = [f.server.scopes[0]!]
  const tokenFor = (worker: number, t: number, ip: string) => {
    const key = f.shared ? 0 : worker
    const held = tokens.get(key)
    // Renewed a minute before expiry by the AS clock the worker sees.
    if (held && t / 1000 < held.exp - 60) return held
    const token = issue(ctx, t, {
      holder: f.holder,
      ip,
      grant: 'client_credentials',
      requested: [f.server.resource],
      scopes,
      lifetimeS: f.lifetimeS,
    })
    emitted += 1
    tokens.set(key, token)
    return token
  }
  for (let hour = f.startsAt; hour < world.end; hour += HOUR) {
    const h = new Date(hour).getUTCHours()
    const rate = f.perHour * (h === f.batchHour ? 3 : 1) * (0.8 + 0.4 * rng.next())
    const n = rng.poisson(rate)
    const times = Array.from({ length: n }, () => hour + Math.floor(rng.next() * HOUR)).sort(
      (x, y) => x - y,
    )
    for (const t of times) {
      const worker = rng.int(0, f.pool.length - 1)
      const ip = f.pool[worker]!
      const token = tokenFor(worker, t, ip)
      present(ctx, t + rng.int(100, MINUTE / 60), { holder: f.holder, server: f.server, token, ip })
      emitted += 1
    }
  }
  return emitted
}

export const benignServiceFleets: Family = {
  id: 'benign-service-fleets',
  kind: 'benign',
  description:
    'client-credentials fleets: shared tokens behind NAT pools, per-worker tokens across prefixes, nightly batches, day-one fleets',
  weight: 0.3,
  generate(ctx) {
    const days = (ctx.world.end - ctx.world.start) / (24 * HOUR)
    let planned = 0
    while (planned < ctx.budget) {
      const f = fleet(ctx)
      const hours = (ctx.world.end - f.startsAt) / HOUR
      planned += f.perHour * hours * (1 + (f.batchHour === undefined ? 0 : 2 / 24))
      run(ctx, f)
      if (planned > ctx.budget * 2 || hours > days * 24 + 1) break
    }
  },
}
