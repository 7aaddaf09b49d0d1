/**
 * What keeps one tenant from stalling the others (docs/security.md, "One tenant cannot stall the
 * others"), beyond each caller's request rate (rate-limit.ts):
 *
 * - weights: HTTP ingest takes one token per event (or per KiB of body, if more) from its
 *   tenant's event budget, a compliance report one per day of its period from the tenant's report
 *   budget; 429 `ERR_RATE_LIMITED` with Retry-After when the budget is short;
 * - a cap on expensive work at once per tenant (reports in any format, ingests of 1 000 events or
 *   1 MiB and more): beyond it 429 `ERR_CONCURRENCY_LIMITED` with Retry-After, at once (nothing
 *   queues);
 * - failed authentications per source address: beyond the limit, requests under /v1 from that
 *   address are answered 429 `ERR_AUTH_RATE_LIMITED` before their token is looked at;
 * - large ingests validated in slices, a turn of the event loop each (sliced-ingest.ts).
 *
 * The limits travel with the API's `Authenticate` (cli/runtime.ts builds both from the
 * configuration), so every route that authenticates finds them: `fairnessOf(authenticate)`. An
 * authenticator without them (tests, benchmarks) gets slicing and no limits.
 */
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import type { Authenticate } from './auth.js'
import { ApiError } from './errors.js'
import { TokenBuckets } from './rate-limit.js'
import { DEFAULT_SLICING, type Slicing } from './sliced-ingest.js'

/** An ingest of this many events or more is expensive work (it takes a slot). */
export const LARGE_INGEST_EVENTS = 1000
/** ...and one of this many bytes or more, whatever its events. */
export const LARGE_INGEST_BYTES = 1024 * 1024
/** An ingest costs one token per event, or one per this many bytes of body if that is more. */
export const INGEST_BYTES_PER_TOKEN = 1024
/** The most events a request may hold: the event budget always has room for one request. */
const MAX_REQUEST_EVENTS = 10_000
/** The longest report period: the report budget always has room for one report. */
const MAX_REPORT_DAYS = 366
const DAY_MS = 86_400_000

export interface FairnessOptions {
  /** Events per second per tenant HTTP ingest takes (bursts to twice that, at least 10 000); 0: no limit. */
  ingestEventsPerSecond?: number
  /** Days of report period per minute per tenant (bursts to twice that, at least 366); 0: no limit. */
  reportDaysPerMinute?: number
  /** Expensive requests (reports, large ingests) at once per tenant; 0: no cap. */
  concurrentPerTenant?: number
  /** Failed authentications per minute per source address (bursts to that many); 0: no limit. */
  authFailuresPerMinute?: number
  /** Large ingests validated in slices (default); false only for a benchmark's before arm. */
  sliced?: boolean
  /** clock in ms (tests) */
  now?: () => number
}

export class Fairness {
  /** How large ingests are sliced; false: in one piece. */
  readonly slicing: Slicing | false
  readonly #events?: TokenBuckets
  readonly #reportDays?: TokenBuckets
  readonly #authFailures?: TokenBuckets
  readonly #concurrent: number
  readonly #running = new Map<string, number>()

  constructor(options: FairnessOptions = {}) {
    const { now } = options
    this.slicing = options.sliced === false ? false : DEFAULT_SLICING
    const events = options.ingestEventsPerSecond ?? 0
    if (events > 0)
      this.#events = new TokenBuckets({
        perSecond: events,
        burst: Math.max(2 * events, MAX_REQUEST_EVENTS),
        now,
      })
    const days = options.reportDaysPerMinute ?? 0
    if (days > 0)
      this.#reportDays = new TokenBuckets({
        perSecond: days / 60,
        burst: Math.max(2 * days, MAX_REPORT_DAYS),
        now,
      })
    const failures = options.authFailuresPerMinute ?? 0
    if (failures > 0)
      this.#authFailures = new TokenBuckets({ perSecond: failures / 60, burst: failures, now })
    this.#concurrent = options.concurrentPerTenant ?? 0
  }

  /**
   * Admits an ingest of a `bytes`-byte body for `tenant`; `count` cuts the body and says how many
   * events it holds (it may throw: nothing is kept then). A body that could not be afforded
   * whatever it holds, or that is large by its bytes while the tenant has no slot, is refused
   * before it is cut. Then a slot if it is large, and its tokens. Returns what gives the slot back
   * (call it once the request is answered).
   */
  admitIngest(tenant: string, bytes: number, count: () => number): () => void {
    const byBytes = Math.ceil(bytes / INGEST_BYTES_PER_TOKEN)
    this.#spent(this.#events?.wait(tenant, byBytes) ?? 0)
    let release = bytes >= LARGE_INGEST_BYTES ? this.#slot(tenant) : undefined
    try {
      const events = count()
      if (!release && events >= LARGE_INGEST_EVENTS) release = this.#slot(tenant)
      this.#spent(this.#events?.take(tenant, Math.max(events, byBytes)) ?? 0)
    } catch (err) {
      release?.()
      throw err
    }
    return release ?? (() => {})
  }

  /** Throws the 429 of a spent ingest budget, when `wait` (seconds) is not 0. */
  #spent(wait: number): void {
    if (wait > 0)
      throw new ApiError(
        429,
        'ERR_RATE_LIMITED',
        `the tenant's ingest budget is spent (${this.#events!.options.perSecond} events per second); retry later`,
        { 'retry-after': String(wait) },
      )
  }

  /** Admits a report over [since, until) for `tenant`: a slot, then a token per day of its period. */
  admitReport(tenant: string, period: { since: number; until: number }): () => void {
    const release = this.#slot(tenant)
    try {
      this.#reportDays?.takeOrThrow(
        tenant,
        reportCost(period),
        'ERR_RATE_LIMITED',
        `the tenant's report budget is spent (${Math.round(this.#reportDays.options.perSecond * 60)} days of period per minute); retry later`,
      )
    } catch (err) {
      release()
      throw err
    }
    return release
  }

  /** Expensive requests of `tenant` running now. */
  running(tenant: string): number {
    return this.#running.get(tenant) ?? 0
  }

  /** A slot of the tenant's expensive work, or 429; the function returned gives it back once. */
  #slot(tenant: string): () => void {
    if (this.#concurrent <= 0) return () => {}
    const running = this.running(tenant)
    if (running >= this.#concurrent)
      throw new ApiError(
        429,
        'ERR_CONCURRENCY_LIMITED',
        `the tenant already runs ${this.#concurrent} expensive requests (reports, large ingests); retry when one has ended`,
        { 'retry-after': '1' },
      )
    this.#running.set(tenant, running + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const left = this.running(tenant) - 1
      if (left > 0) this.#running.set(tenant, left)
      else this.#running.delete(tenant)
    }
  }

  /** Whether failed authentications are limited per address. */
  get limitsAuthFailures(): boolean {
    return this.#authFailures !== undefined
  }

  /** Seconds before `address` may try to authenticate again; 0: it may now. */
  authWait(address: string): number {
    return this.#authFailures?.wait(address) ?? 0
  }

  /** Counts a failed authentication from `address`. */
  authFailed(address: string): void {
    this.#authFailures?.take(address)
  }
}

/** What a report over `period` costs: its days, started days counted whole. */
export function reportCost(period: { since: number; until: number }): number {
  return Math.max(1, Math.ceil((period.until - period.since) / DAY_MS))
}

/** The limits the configuration sets (AUDTRAIL_INGEST_EVENT_RATE and the others). */
export function fairnessFromConfig(api: Config['api']): Fairness {
  return new Fairness({
    ingestEventsPerSecond: api.ingestEventRate,
    reportDaysPerMinute: api.reportDayRate,
    concurrentPerTenant: api.tenantConcurrency,
    authFailuresPerMinute: api.authFailureLimit,
  })
}

const FAIRNESS = Symbol('audtrail.fairness')
const UNLIMITED = new Fairness()

/** `authenticate`, carrying `fairness` to the routes that call it. */
export function withFairness(authenticate: Authenticate, fairness: Fairness): Authenticate {
  const carrier: Authenticate = (authorization) => authenticate(authorization)
  return Object.assign(carrier, { [FAIRNESS]: fairness })
}

/** The limits `authenticate` carries; without any, slicing and no limits. */
export function fairnessOf(authenticate: Authenticate): Fairness {
  return (authenticate as Authenticate & { [FAIRNESS]?: Fairness })[FAIRNESS] ?? UNLIMITED
}

/**
 * What failed authentications count against: an IPv4 address (an IPv4-mapped IPv6 one too), or
 * the /64 of an IPv6 address (a host commonly holds a whole /64, one address per attempt).
 */
export function addressKey(ip: string): string {
  const address = ip.split('%')[0]!.toLowerCase()
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address)
  if (mapped) return mapped[1]!
  if (!address.includes(':')) return address
  const [head = '', tail] = address.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const zeros =
    tail === undefined ? [] : Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0')
  const groups = [...left, ...zeros, ...right].slice(0, 4)
  return `${groups.map((g) => (parseInt(g, 16) || 0).toString(16)).join(':')}::/64`
}

/**
 * The failed-authentication limit per source address (`request.ip`: the peer's address, as
 * `trustProxy` is off; IPv6 by its /64): every 401 answered counts against its address; a request
 * under /v1 from an address out of tries is answered 429 before anything else runs (its token is
 * not verified).
 */
export function installAuthFailureLimit(app: FastifyInstance, authenticate: Authenticate): void {
  const fairness = fairnessOf(authenticate)
  if (!fairness.limitsAuthFailures) return
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v1/')) return
    const wait = fairness.authWait(addressKey(request.ip))
    if (wait > 0)
      throw new ApiError(
        429,
        'ERR_AUTH_RATE_LIMITED',
        'too many failed authentications from this address; retry later',
        { 'retry-after': String(wait) },
      )
  })
  app.addHook('onSend', async (request, reply) => {
    if (reply.statusCode === 401) fairness.authFailed(addressKey(request.ip))
  })
}
