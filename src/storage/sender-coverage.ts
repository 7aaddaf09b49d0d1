/**
 * Sender-constrained coverage (issue 27): the share of tokens that are bound (DPoP `cnf.jkt`,
 * mTLS `cnf.x5t#S256`) and of accepted presentations that proved possession, per client and per
 * resource. Read from `events` (columns of migration 0014) by sql/queries/sender-constraint-coverage.sql.
 */
import { connectionOf, type ClickHouseConnection, type Storage } from './client.js'
import { StorageError } from '../errors.js'
import { mapStorageError } from './errors.js'
import type { MemoryRepositories } from './memory-repositories.js'
import { loadQuery } from './sql.js'
import { toDateTime64, type EventRow } from '../events/event-row.js'

export interface CoverageRow {
  dimension: 'client' | 'resource'
  /** the client id, or the canonical resource */
  name: string
  tokens: number
  bound_tokens: number
  /** accepted presentations */
  presentations: number
  /** accepted presentations with a valid DPoP proof or client certificate */
  proven_presentations: number
}

export interface CoverageQuery {
  tenant: string
  /** RFC 3339 or epoch milliseconds; [since, until) of occurred_at */
  since: string | number
  until: string | number
  maxRows?: number
}

export async function senderConstraintCoverage(
  storage: ClickHouseConnection,
  q: CoverageQuery,
): Promise<CoverageRow[]> {
  try {
    const rs = await storage.client.query({
      query: loadQuery('sender-constraint-coverage', storage.database),
      query_params: {
        tenant: q.tenant,
        since: toDateTime64(q.since),
        until: toDateTime64(q.until),
        max_rows: q.maxRows ?? 10_000,
      },
      format: 'JSONEachRow',
    })
    const rows = await rs.json<Record<string, unknown>>()
    return rows.map((r) => ({
      dimension: r.dimension as CoverageRow['dimension'],
      name: String(r.name),
      tokens: Number(r.tokens),
      bound_tokens: Number(r.bound_tokens),
      presentations: Number(r.presentations),
      proven_presentations: Number(r.proven_presentations),
    }))
  } catch (err) {
    throw mapStorageError(err, 'read sender-constraint coverage')
  }
}

// ---------------------------------------------------------------------------------------------
// The coverage as a store of its own (GET /v1/sender-constraint): ClickHouse, or an in-memory
// double over the memory repositories' events with the same semantics as the query.

export interface SenderCoverageStore {
  coverage(q: CoverageQuery): Promise<CoverageRow[]>
}

const TOKEN_EVENTS = new Set(['token.issued', 'token.exchanged', 'token.presented'])

/** The query's answer computed over stored rows (the memory double; also its specification). */
export function coverageOfRows(rows: readonly EventRow[], q: CoverageQuery): CoverageRow[] {
  const since = toDateTime64(q.since)
  const until = toDateTime64(q.until)
  type Acc = { tokens: Set<string>; bound: Set<string>; presentations: number; proven: number }
  const groups = new Map<string, Acc>()
  const add = (dimension: CoverageRow['dimension'], name: string, r: EventRow) => {
    const key = `${dimension}\u0000${name}`
    const g = groups.get(key) ?? {
      tokens: new Set(),
      bound: new Set(),
      presentations: 0,
      proven: 0,
    }
    groups.set(key, g)
    g.tokens.add(r.token_key)
    if (r.token_cnf_jkt !== '' || r.token_cnf_x5t !== '') g.bound.add(r.token_key)
    if (r.event_type === 'token.presented' && r.decision === 'accepted') {
      g.presentations += 1
      if (r.proof_verdict === 'valid') g.proven += 1
    }
  }
  for (const r of rows) {
    if (r.tenant !== q.tenant || r.token_key === '' || !TOKEN_EVENTS.has(r.event_type)) continue
    if (r.occurred_at < since || r.occurred_at >= until) continue
    if (r.client_id !== '') add('client', r.client_id, r)
    const resources =
      r.event_type === 'token.presented'
        ? [r.resource_canonical]
        : r.granted_aud_canonical.length > 0
          ? r.granted_aud_canonical
          : r.token_aud_canonical
    for (const resource of new Set(resources)) if (resource !== '') add('resource', resource, r)
  }
  return [...groups]
    .map(([key, g]): CoverageRow => {
      const [dimension, name] = key.split('\u0000') as [CoverageRow['dimension'], string]
      return {
        dimension,
        name,
        tokens: g.tokens.size,
        bound_tokens: g.bound.size,
        presentations: g.presentations,
        proven_presentations: g.proven,
      }
    })
    .sort((a, b) =>
      a.dimension !== b.dimension
        ? a.dimension < b.dimension
          ? -1
          : 1
        : a.name < b.name
          ? -1
          : a.name > b.name
            ? 1
            : 0,
    )
    .slice(0, q.maxRows ?? 10_000)
}

export function createSenderCoverageStore(storage: Storage): SenderCoverageStore {
  let ch: ClickHouseConnection | undefined
  try {
    ch = connectionOf(storage)
  } catch {
    ch = undefined
  }
  if (ch !== undefined) {
    const connection = ch
    return { coverage: (q) => senderConstraintCoverage(connection, q) }
  }
  const memory = storage as Partial<MemoryRepositories>
  return {
    coverage: async (q) => {
      if (memory.available === false || memory.tables === undefined)
        throw new StorageError('ERR_SINK_UNAVAILABLE', 'memory storage: unavailable', {
          retriable: true,
        })
      return coverageOfRows(memory.tables.events, q)
    },
  }
}
