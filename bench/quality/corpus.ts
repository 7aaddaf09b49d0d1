/**
 * A labeled corpus for measuring the rules' precision and recall: realistic benign traffic and
 * labeled attacks, generated from a seed by scenario families (one file each in `scenarios/`).
 * A family writes events through a `FamilyContext` in true time; the context applies what the
 * wire does to them (each source's clock skew, delivery delays, late deliveries, duplicate
 * deliveries of one event id) and records what an attack family expects the rules to find.
 * The interface is described in bench/README.md (`bench:detect-quality`).
 */
import type { z } from 'zod'
import type { RegistryEntry } from '../../src/resource-registry.js'

type RegistryEntryInput = z.input<typeof RegistryEntry>

/** A finding an attack must produce: the rule and (a subset of) its dedup key fields. */
export interface Label {
  rule: string
  keys: Readonly<Record<string, string>>
}

export interface LabelOf extends Label {
  family: string
  instance: number
}

export interface Delivered {
  event: Record<string, unknown>
  /** When audtrail received it (ms): after the event, by a delivery delay. */
  receivedAt: number
  family: string
  benign: boolean
  /** A second delivery of an event id already sent (a collector retry). */
  duplicate: boolean
}

export interface Rng {
  /** [0, 1) */
  next(): number
  int(min: number, max: number): number
  chance(p: number): boolean
  pick<T>(list: readonly T[]): T
  /** Poisson-distributed count with mean `mean` (Knuth for small means, normal above 30). */
  poisson(mean: number): number
  /** Random hex of `n` characters. */
  hex(n: number): string
}

export function createRng(seed: number): Rng {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const rng: Rng = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (list) => list[Math.floor(next() * list.length)]!,
    poisson(mean) {
      if (mean <= 0) return 0
      if (mean > 30) {
        const u = Math.max(next(), 1e-12)
        const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next())
        return Math.max(0, Math.round(mean + Math.sqrt(mean) * z))
      }
      const l = Math.exp(-mean)
      let k = 0
      let p = 1
      do {
        k += 1
        p *= next()
      } while (p > l)
      return k - 1
    },
    hex: (n) => Array.from({ length: n }, () => Math.floor(next() * 16).toString(16)).join(''),
  }
  return rng
}

/** A resource server of the world. */
export interface Server {
  /** the collector's source id */
  id: string
  resource: string
  kind: 'mcp' | 'api'
  aliases: readonly string[]
  scopes: readonly string[]
  multiAudience: boolean
  tools: readonly string[]
  /** its clock's offset from true time (ms) */
  skewMs: number
  /** how late, at most, it still accepts a token past `exp` (its own leeway, s) */
  leewayS: number
}

export interface World {
  tenant: string
  issuer: string
  /** true time of the corpus' first and last events (ms), hour-aligned */
  start: number
  end: number
  servers: readonly Server[]
  registry: RegistryEntryInput[]
  /** the authorization server's clock offset (ms) */
  asSkewMs: number
  /**
   * Rule parameters as the deployment configures them (what `evaluateCorpus` uses unless given
   * others): each MCP server's outbound user agent, for token-passthrough.
   */
  params: Record<string, Record<string, unknown>>
}

export interface FamilyContext {
  rng: Rng
  world: World
  /** Benign families: how many events to aim at (a target, not a cap). */
  budget: number
  /** Attack families: which instance this is (0-based); one call of `generate` per instance. */
  instance: number
  /** A fresh unique id: client ids, users, jtis (`prefix-` + random hex). */
  id(prefix: string): string
  /** A /24 nobody else in the corpus uses, as `a.b.c` (add `.d`). */
  v4Prefix(): string
  /** A /48 nobody else uses, as `2001:db8:xxxx` (add `:ssss::iiii`). */
  v6Site(): string
  /**
   * Send an event that happened at true time `t` (ms) at a source whose clock is off by `skewMs`:
   * `occurred_at` is set from the source's clock, `event_id` and `tenant` are filled in.
   */
  emit(event: Record<string, unknown>, t: number, skewMs?: number): void
  /** An attack family: a finding the rules must produce for this instance. */
  expect(label: Label): void
  /** An attack family: a finding that may also appear (neither a true nor a false alert). */
  allow(label: Label): void
  /** Tokens: iat/exp as the AS stamps them at true time `t` for `lifetimeS`. */
  tokenTimes(t: number, lifetimeS: number): { iat: number; exp: number }
}

export interface Family {
  id: string
  kind: 'benign' | 'attack'
  description: string
  /** Benign: share of the benign volume. Attack: instances per corpus. */
  weight: number
  generate(ctx: FamilyContext): void
}

export interface Corpus {
  seed: number
  world: World
  /** In order of receipt. */
  events: Delivered[]
  labels: LabelOf[]
  allowed: LabelOf[]
  benignEvents: number
  attackEvents: number
  families: readonly string[]
}

export interface CorpusOptions {
  seed: number
  /** Benign events to aim at (the attack families add theirs). */
  events: number
  families: readonly Family[]
  /** Days of traffic (default 9: a week of baseline and two days after it). */
  days?: number
  /** The corpus ends at the last Wednesday 00:00 UTC before this (default: now). */
  now?: number
}

const HOUR = 3_600_000

/** Delivery: most events within seconds; some held back minutes by an outage; a few sent twice. */
function deliveryDelay(rng: Rng): number {
  if (rng.chance(0.02)) return rng.int(60_000, 20 * 60_000)
  return rng.int(50, 4000)
}

function uuid(rng: Rng): string {
  const h = rng.hex(32)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/** FNV-1a of a family id. */
function hashId(id: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0
  return h
}

const iso = (ms: number) => new Date(Math.round(ms)).toISOString()

/** The ten resource servers every corpus shares: MCP servers and APIs, some with aliases. */
function servers(rng: Rng): Server[] {
  const skew = () => rng.int(-30_000, 30_000)
  const mcp = (name: string, tools: string[], aliases: string[] = []): Server => ({
    id: `${name}-mcp`,
    resource: `https://${name}.mcp.example.com/mcp`,
    kind: 'mcp',
    aliases,
    scopes: [`${name}:read`, `${name}:write`],
    multiAudience: false,
    tools,
    skewMs: skew(),
    leewayS: rng.pick([0, 30, 60]),
  })
  const api = (name: string, multiAudience = false, aliases: string[] = []): Server => ({
    id: `${name}-api`,
    resource: `https://api.example.com/${name}`,
    kind: 'api',
    aliases,
    scopes: [`${name}.read`, `${name}.write`],
    multiAudience,
    tools: [],
    skewMs: skew(),
    leewayS: rng.pick([0, 30, 60]),
  })
  return [
    mcp('files', ['read_file', 'list_files', 'write_file'], ['https://files.example.com/mcp']),
    mcp('tickets', ['search_tickets', 'create_ticket']),
    mcp('calendar', ['list_events', 'create_event'], ['api://calendar-mcp']),
    mcp('search', ['web_search', 'fetch_page']),
    mcp('crm', ['find_account', 'update_account']),
    mcp('wiki', ['search_pages', 'read_page']),
    api('orders', true),
    api('billing', true),
    api('inventory', false, ['https://inventory.internal.example.com']),
    api('reports'),
  ]
}

/** The user agent an MCP server's outbound HTTP client sends (what the operator configures). */
export function serverAgent(server: Server): string {
  return `${server.id}/`
}

export function createWorld(rng: Rng, start: number, end: number): World {
  const list = servers(rng)
  return {
    tenant: 'acme',
    issuer: 'https://as.example.com',
    start,
    end,
    servers: list,
    asSkewMs: rng.int(-20_000, 20_000),
    registry: list.map((s) => ({
      resource: s.resource,
      kind: s.kind,
      scopes: [...s.scopes],
      ...(s.aliases.length > 0 && { aliases: [...s.aliases] }),
      ...(s.multiAudience && { multi_audience_allowed: true }),
    })),
    // The operator names each MCP server's outbound HTTP client (its identity downstream).
    params: {
      'token-passthrough': {
        serverUserAgents: Object.fromEntries(
          list.filter((s) => s.kind === 'mcp').map((s) => [s.resource, [serverAgent(s)]]),
        ),
      },
    },
  }
}

/** Generate a corpus: every family in turn, each with its own random stream. */
export function generateCorpus(options: CorpusOptions): Corpus {
  const days = options.days ?? 9
  const now = options.now ?? Date.now()
  // A fixed weekly phase, whenever it runs: nine days end on a Wednesday and start on a Monday.
  const DAY = 24 * HOUR
  const today = Math.floor((now - HOUR) / DAY) * DAY
  const weekday = new Date(today).getUTCDay() // 0 Sunday .. 3 Wednesday
  const end = today - ((weekday - 3 + 7) % 7) * DAY
  const start = end - days * 24 * HOUR
  const world = createWorld(createRng(options.seed), start, end)
  const events: Delivered[] = []
  const labels: LabelOf[] = []
  const allowed: LabelOf[] = []
  const used = new Set<string>()
  let prefixes = 0
  let sites = 0
  const benignWeight = options.families
    .filter((f) => f.kind === 'benign')
    .reduce((s, f) => s + f.weight, 0)

  for (const family of options.families) {
    const instances = family.kind === 'attack' ? family.weight : 1
    for (let instance = 0; instance < instances; instance++) {
      // Each family and instance its own stream, from its id: a family added or moved changes
      // no other family's random choices (benign budgets are shares of the benign volume).
      const rng = createRng((options.seed * 7919 + hashId(family.id) + instance * 1299) >>> 0)
      const benign = family.kind === 'benign'
      const ctx: FamilyContext = {
        rng,
        world,
        budget: benign ? Math.round((options.events * family.weight) / benignWeight) : 0,
        instance,
        id(prefix) {
          for (;;) {
            const id = `${prefix}-${rng.hex(8)}`
            if (!used.has(id)) {
              used.add(id)
              return id
            }
          }
        },
        v4Prefix() {
          const n = prefixes++
          // 11.0.0.0 on: public-looking, never a documentation or private range of the examples.
          return `${11 + Math.floor(n / 65_536)}.${Math.floor(n / 256) % 256}.${n % 256}`
        },
        v6Site() {
          return `2001:db8:${(sites++).toString(16)}`
        },
        emit(event, t, skewMs = 0) {
          const full = {
            schema_version: 1,
            event_id: uuid(rng),
            tenant: world.tenant,
            ...event,
            occurred_at: iso(t + skewMs),
          }
          const receivedAt = t + deliveryDelay(rng)
          events.push({ event: full, receivedAt, family: family.id, benign, duplicate: false })
          if (rng.chance(0.01))
            events.push({
              event: full,
              receivedAt: receivedAt + rng.int(1000, 120_000),
              family: family.id,
              benign,
              duplicate: true,
            })
        },
        expect(label) {
          labels.push({ ...label, family: family.id, instance })
        },
        allow(label) {
          allowed.push({ ...label, family: family.id, instance })
        },
        tokenTimes(t, lifetimeS) {
          const iat = Math.floor((t + world.asSkewMs) / 1000)
          return { iat, exp: iat + lifetimeS }
        },
      }
      family.generate(ctx)
    }
  }
  events.sort((a, b) => a.receivedAt - b.receivedAt)
  const unique = events.filter((e) => !e.duplicate)
  return {
    seed: options.seed,
    world,
    events,
    labels,
    allowed,
    benignEvents: unique.filter((e) => e.benign).length,
    attackEvents: unique.filter((e) => !e.benign).length,
    families: options.families.map((f) => f.id),
  }
}
