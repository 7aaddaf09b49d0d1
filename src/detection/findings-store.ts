/**
 * Findings: one per rule, tenant and dedup key. Occurrences are stored one row per event (or per
 * scheduled window), so recording the same detection twice changes nothing; the finding's count,
 * first/last seen and highest severity are recomputed from them on every write.
 */
import { createHash, randomUUID } from 'node:crypto'
import { toDateTime64 } from '../events/event-row.js'
import type { FindingRecord, Repositories, TriageRecord } from '../storage/repositories.js'
import { TRIAGE_FIELDS, type TriageChange } from '../storage/triage-history.js'
import { SEVERITIES, type Detection, type Rule, type Severity } from './rule.js'

const MAX_EVIDENCE_JSON = 16_384

export function findingId(
  tenant: string,
  rule: Pick<Rule, 'id' | 'dedupKey'>,
  keys: Detection['keys'],
) {
  const parts = [tenant, rule.id, ...rule.dedupKey.map((k) => `${k}=${keys[k] ?? ''}`)]
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32)
}

/** A `findings` row as the detector writes it. */
export type RecordedFinding = FindingRecord & { severity: Severity }

export interface FindingsStore {
  record(rule: Rule, detections: readonly Detection[]): Promise<RecordedFinding[]>
  /** Several rules' detections in one round of writes (the streaming detector, per chunk). */
  recordAll(groups: readonly (readonly [Rule, readonly Detection[]])[]): Promise<RecordedFinding[]>
}

let sequence = 0
/** Versions grow with time and stay unique within this process (ReplacingMergeTree keeps the max). */
function nextVersion(): number {
  sequence = (sequence + 1) % 1000
  return Date.now() * 1000 + sequence
}

function evidenceJson(d: Detection): string {
  const json = JSON.stringify({ ...d.evidence, event_ids: d.eventIds })
  return json.length <= MAX_EVIDENCE_JSON
    ? json
    : JSON.stringify({ truncated: true, event_ids: d.eventIds.slice(-20) })
}

export function createFindingsStore(storage: Pick<Repositories, 'findings'>): FindingsStore {
  const { findings } = storage

  async function recordAll(
    groups: readonly (readonly [Rule, readonly Detection[]])[],
  ): Promise<RecordedFinding[]> {
    const latest = new Map<string, { rule: Rule; detection: Detection }>()
    const occurrences = groups.flatMap(([rule, detections]) =>
      detections.flatMap((d) => {
        const id = findingId(d.tenant, rule, d.keys)
        latest.set(id, { rule, detection: d })
        const ids =
          d.eventIds.length > 0
            ? d.eventIds
            : [
                createHash('sha256')
                  .update(`${JSON.stringify(d.keys)}@${d.at}`)
                  .digest('hex'),
              ]
        return ids.map((occurrence_id) => ({
          tenant: d.tenant,
          finding_id: id,
          occurrence_id,
          severity: d.severity ?? rule.severity,
          at: toDateTime64(d.at),
        }))
      }),
    )
    if (occurrences.length === 0) return []
    await findings.addOccurrences(occurrences)
    const aggregates = await findings.aggregates([...latest.keys()])
    const now = toDateTime64(Date.now())
    const rows = aggregates.map((a): RecordedFinding => {
      const { rule, detection: d } = latest.get(a.finding_id)!
      return {
        tenant: a.tenant,
        finding_id: a.finding_id,
        rule_id: rule.id,
        severity: SEVERITIES[a.severity_rank - 1]!,
        title: rule.title,
        keys: d.keys,
        token_key: d.keys.token_key ?? '',
        client_id: d.keys.client_id ?? '',
        resource: d.keys.resource ?? '',
        evidence: evidenceJson(d),
        mappings: JSON.stringify(rule.mappings),
        first_seen: a.first_seen,
        last_seen: a.last_seen,
        count: a.count,
        updated_at: now,
        version: nextVersion(),
      }
    })
    await findings.write(rows)
    return rows
  }

  return {
    recordAll,
    record: (rule, detections) => recordAll([[rule, detections]]),
  }
}

export const TRIAGE_STATUSES = ['open', 'acknowledged', 'resolved', 'false_positive'] as const
export type TriageStatus = (typeof TRIAGE_STATUSES)[number]

export interface Triage {
  status: TriageStatus
  note?: string
  assignee?: string
  /** who made the change (the API caller's subject) */
  by: string
}

/** Record an analyst's triage of a finding; the latest change wins. */
export async function setTriage(
  storage: Pick<Repositories, 'findings'>,
  tenant: string,
  findingIdValue: string,
  triage: Triage,
): Promise<void> {
  if (!(TRIAGE_STATUSES as readonly string[]).includes(triage.status))
    throw new TypeError(`setTriage: unknown status ${JSON.stringify(triage.status)}`)
  await storage.findings.triage({
    tenant,
    finding_id: findingIdValue,
    status: triage.status,
    note: triage.note ?? '',
    assignee: triage.assignee ?? '',
    updated_at: toDateTime64(Date.now()),
    updated_by: triage.by,
    version: nextVersion(),
  })
}

/** A change an analyst asks for: the fields given are set, the others kept. */
export interface TriageChangeRequest {
  status?: TriageStatus
  note?: string
  assignee?: string
}

/** A finding's triage as read before a change (the effective status, as the list shows it). */
export interface CurrentTriage {
  id: string
  status: string
  note: string
  assignee: string
}

/**
 * Apply `change` by `by` to findings of `tenant` whose current triage is `current`: for each
 * finding where a field changes, a new `finding_triage` version (all three values) and a history
 * row per changed field (`from`: the value before, the effective status for `status`), all at the
 * same instant. A finding where nothing changes is left alone (no version, no history). Returns
 * the ids of the findings changed.
 */
export async function applyTriage(
  storage: Pick<Repositories, 'triageHistory'>,
  tenant: string,
  current: readonly CurrentTriage[],
  change: TriageChangeRequest,
  by: string,
): Promise<string[]> {
  if (
    change.status !== undefined &&
    !(TRIAGE_STATUSES as readonly string[]).includes(change.status)
  )
    throw new TypeError(`applyTriage: unknown status ${JSON.stringify(change.status)}`)
  const at = toDateTime64(Date.now())
  const versions: TriageRecord[] = []
  const changes: TriageChange[] = []
  for (const finding of current) {
    const next = {
      status: change.status ?? finding.status,
      note: change.note ?? finding.note,
      assignee: change.assignee ?? finding.assignee,
    }
    const changed = TRIAGE_FIELDS.filter((field) => next[field] !== finding[field])
    if (changed.length === 0) continue
    versions.push({
      tenant,
      finding_id: finding.id,
      ...next,
      updated_at: at,
      updated_by: by,
      version: nextVersion(),
    })
    for (const field of changed)
      changes.push({
        tenant,
        finding_id: finding.id,
        change_id: randomUUID(),
        at,
        by,
        field,
        from_value: finding[field],
        to_value: next[field],
      })
  }
  if (versions.length > 0) await storage.triageHistory.write(versions, changes)
  return versions.map((v) => v.finding_id)
}
