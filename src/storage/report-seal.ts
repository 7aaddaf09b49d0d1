/**
 * The sealing job of the compliance report (migration 0020, docs/design/report-performance.md,
 * "Sealed days"): per tenant, it seals each UTC day past the lateness bound whose seal is missing
 * or stale, so that a report adds the day's precomputed per-token figures instead of grouping its
 * tokens. Run it on a schedule (daily, after midnight UTC plus the lateness bound); a report is
 * correct whether or not it ran (a day not sealed, or changed since its seal, is read from the
 * rollup), only slower.
 *
 * Sealing a day: report-seal-tokens.sql writes each token's figures over the day's rollup rows
 * and whether it has rows in another day; report-seal-day.sql sums them into the day's row
 * (its fingerprint: the day's events); report-seal-prune.sql drops the token rows of the day's
 * seals but the latest two (the one before stays for a report that chose it a moment ago). A day that holds, as not spanning days, a token the new seal found spanning (a
 * late event of this day for a token of that one) is sealed again in the same run
 * (report-seal-affected.sql).
 */
import type { ClickHouseConnection, Storage } from './client.js'
import { connectionOf } from './client.js'
import { mapStorageError } from './errors.js'
import { loadQuery } from './sql.js'

const DAY = 86_400_000
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)

/** The rows of a named query (sql/queries), storage errors mapped as `what`. */
async function namedRows<T>(
  ch: ClickHouseConnection,
  name: string,
  params: Record<string, unknown>,
  what: string,
): Promise<T[]> {
  try {
    const rs = await ch.client.query({
      query: loadQuery(name, ch.database),
      query_params: params,
      format: 'JSONEachRow',
    })
    return await rs.json<T>()
  } catch (err) {
    throw mapStorageError(err, what)
  }
}

export interface SealOptions {
  tenant: string
  /** The job's clock (ms). */
  now: number
  /** The clock skew of expired_tokens_accepted (the expired-token-accepted rule's default). */
  clockSkewS: number
  /** Days are sealed once this long past their end (default one day): fewer seals made stale. */
  latenessMs?: number
  /** How far back to look for days to seal (default 400 days: beyond the events' retention). */
  lookbackDays?: number
}

export interface SealResult {
  /** The days sealed (YYYY-MM-DD), in order, a day sealed again listed again. */
  sealed: string[]
}

export async function sealReportDays(
  storage: Storage | ClickHouseConnection,
  options: SealOptions,
): Promise<SealResult> {
  const ch = connectionOf(storage)
  const { tenant, now, clockSkewS } = options
  const dayTo = Math.floor((now - (options.latenessMs ?? DAY)) / DAY) * DAY - DAY
  const dayFrom = dayTo - (options.lookbackDays ?? 400) * DAY
  const what = 'seal report days'

  const rows = <T>(name: string, params: Record<string, unknown>) =>
    namedRows<T>(ch, name, params, what)
  const command = async (name: string, params: Record<string, unknown>) => {
    try {
      await ch.client.command({ query: loadQuery(name, ch.database), query_params: params })
    } catch (err) {
      throw mapStorageError(err, what)
    }
  }

  const pending = await rows<{ day: string }>('report-seal-pending', {
    tenant,
    day_from: isoDay(dayFrom),
    day_to: isoDay(dayTo + DAY),
    clock_skew_s: clockSkewS,
  })
  const queue = pending.map((p) => p.day)
  const sealed: string[] = []
  const times = new Map<string, number>()
  let last = 0
  while (queue.length > 0) {
    const day = queue.shift()!
    // At most twice a day per run (a second late event while sealing waits for the next run).
    if ((times.get(day) ?? 0) >= 2) continue
    times.set(day, (times.get(day) ?? 0) + 1)
    // Unique and increasing within a run, even within one millisecond.
    const sealId = Math.max(Date.now(), last + 1)
    last = sealId
    const params = { tenant, day, seal_id: sealId, clock_skew_s: clockSkewS }
    await command('report-seal-tokens', params)
    await command('report-seal-day', params)
    await command('report-seal-prune', params)
    sealed.push(day)
    for (const { day: other } of await rows<{ day: string }>('report-seal-affected', params))
      if (!queue.includes(other)) queue.push(other)
  }
  return { sealed }
}

export interface SealAllResult {
  /** Per tenant, the days sealed, or the error that stopped that tenant's seal (the others go on). */
  tenants: { tenant: string; sealed: string[]; error?: string }[]
}

/**
 * sealReportDays for every tenant with rollup rows in the lookback (report-seal-tenants.sql), one
 * after the other; a tenant whose seal fails is reported and the next one sealed, so one tenant's
 * failure never leaves the others' reports unsealed.
 */
export async function sealAllTenants(
  storage: Storage | ClickHouseConnection,
  options: Omit<SealOptions, 'tenant'>,
): Promise<SealAllResult> {
  const ch = connectionOf(storage)
  const dayFrom = Math.floor(options.now / DAY) * DAY - (options.lookbackDays ?? 400) * DAY
  const tenants = await namedRows<{ tenant: string }>(
    ch,
    'report-seal-tenants',
    { day_from: isoDay(dayFrom) },
    'list the tenants to seal',
  )
  const result: SealAllResult = { tenants: [] }
  for (const { tenant } of tenants) {
    try {
      const { sealed } = await sealReportDays(ch, { ...options, tenant })
      result.tenants.push({ tenant, sealed })
    } catch (err) {
      result.tenants.push({
        tenant,
        sealed: [],
        error: err instanceof Error ? err.message : String(err),
      })
    }
  }
  return result
}
