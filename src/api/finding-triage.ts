/**
 * The triage fields of findings as the API answers them (issue 23, item 4): who last triaged each
 * and when, the exception in force that covers it, and one finding's history. Every read is bound
 * to the caller's tenant. The routes of findings.ts and triage.ts, and the exports, call these.
 */
import { exceptionCovers, expiresAt } from '../detection/exceptions.js'
import { fromDateTime64 } from '../events/event-row.js'
import type { FindingListRow, Repositories } from '../storage/repositories.js'
import type { LastTriageRow } from '../storage/triage-history.js'

type TriageStorage = Pick<Repositories, 'exceptions' | 'triageHistory'>

/** What the triage fields are computed from: a finding's id, rule and key values. */
export interface FindingRef {
  id: string
  rule_id: string
  keys: Readonly<Record<string, string>>
}

export interface TriageFields {
  updated_by: string | null
  updated_at: string | null
  exception: { id: string; reason: string } | null
}

/** A covering-exception lookup over the tenant's exceptions in force now (read once). */
export async function exceptionLookup(
  storage: Pick<Repositories, 'exceptions'>,
  tenant: string,
): Promise<(f: FindingRef) => TriageFields['exception']> {
  const now = Date.now()
  const inForce = (await storage.exceptions.list(tenant))
    .filter((e) => e.active)
    .map((e) => ({ ...e, tenant, expires: expiresAt(e) }))
    // The oldest first: the one that has covered the finding longest is named.
    .reverse()
  return (f) => {
    const e = inForce.find((x) => exceptionCovers(x, tenant, f.rule_id, f.keys, now))
    return e ? { id: e.id, reason: e.reason } : null
  }
}

/**
 * What a caller may have already: the latest triage of the findings (a list page answers it,
 * `latestTriageOf`) and the covering-exception lookup (started beside the page). Each one given
 * is not read again.
 */
export interface KnownTriage {
  latest?: readonly LastTriageRow[]
  covering?: Promise<(f: FindingRef) => TriageFields['exception']>
}

/** The latest triage of each finding of a list page, as finding-triage-latest.sql gives it. */
export const latestTriageOf = (rows: readonly FindingListRow[]): LastTriageRow[] =>
  rows.map((r) => ({ finding_id: r.id, updated_by: r.triaged_by, updated_at: r.triaged_at }))

/** The triage fields of each finding of `tenant`, in the order given. */
export async function triageFieldsOf(
  storage: TriageStorage,
  tenant: string,
  findings: readonly FindingRef[],
  known: KnownTriage = {},
): Promise<TriageFields[]> {
  if (findings.length === 0) return []
  const [latest, covering] = await Promise.all([
    known.latest ??
      storage.triageHistory.latest(
        tenant,
        findings.map((f) => f.id),
      ),
    known.covering ?? exceptionLookup(storage, tenant),
  ])
  const byId = new Map(latest.map((t) => [t.finding_id, t]))
  return findings.map((f) => {
    const t = byId.get(f.id)
    const triaged = t !== undefined && t.updated_by !== ''
    return {
      updated_by: triaged ? t.updated_by : null,
      updated_at: triaged ? fromDateTime64(t.updated_at) : null,
      exception: covering(f),
    }
  })
}

/** Findings as presented, each with its triage fields. */
export async function withTriageFields<T extends FindingRef>(
  storage: TriageStorage,
  tenant: string,
  items: readonly T[],
  known?: KnownTriage,
): Promise<(T & TriageFields)[]> {
  const fields = await triageFieldsOf(storage, tenant, items, known)
  return items.map((item, i) => ({ ...item, ...fields[i]! }))
}

/** One finding as presented, with its triage fields and its history (oldest first). */
export async function withTriageHistory<T extends FindingRef>(
  storage: TriageStorage,
  tenant: string,
  item: T,
) {
  const [[withFields], changes] = await Promise.all([
    withTriageFields(storage, tenant, [item]),
    storage.triageHistory.ofFinding(tenant, item.id),
  ])
  return {
    ...withFields!,
    history: changes.map((c) => ({
      at: fromDateTime64(c.at),
      by: c.by,
      field: c.field,
      from: c.from_value,
      to: c.to_value,
    })),
  }
}
