/**
 * The repositories in memory, for unit tests: the same answers as ClickHouse for the same writes
 * (test/storage/repositories.contract.test.ts runs one set of expectations against both), with
 * the tables' replacing semantics (the highest version of a row wins, an equal one replaces it).
 *
 * Not doubled (docs/design/storage.md says why): the compliance report's evidence metrics
 * (report-token-metrics, report-drift, report-event-metrics), the resource inventory and client
 * usage (rollups), and the scheduled rules' SQL. Those throw, unless a test gives the rows a rule
 * returns (`rules`).
 */
import { StorageError } from '../errors.js'
import type { RejectedRow } from '../events/rejected-row.js'
import {
  STORED_EVENT_COLUMNS,
  toDateTime64,
  type EventRow,
  type StoredEvent,
} from '../events/event-row.js'
import {
  encodedInsert,
  identitiesOf,
  type EventIdentities,
  type EventsInsert,
} from './events-store.js'
import { encodeEvents } from './events-store.js'
import { delegationLink, walkDelegationChain } from './delegation-chain.js'
import {
  compareSortKeys,
  DEFAULT_FINDING_SORT,
  FINDINGS_TOTAL_BOUND,
  findingsCursor,
  findingSortKey,
  timeSpan,
  type FindingsQuery,
  type AlertRow,
  type ExceptionRow,
  type FindingOccurrence,
  type FindingRecord,
  type FindingListRow,
  type Repositories,
  type ReportScope,
  TOKEN_EVENT_COLUMNS,
  TOKEN_EVENTS_LIMIT,
  type TokenSummaryRow,
  type TriageRecord,
} from './repositories.js'
import { memoryTriageHistory } from './triage-history.js'

/** Rows a scheduled rule's SQL would return for its parameters and window. */
export type RuleRows = (
  params: Readonly<Record<string, unknown>>,
  from: string,
  to: string,
) => Record<string, unknown>[]

export interface MemoryRepositories extends Repositories {
  /** What is stored, by table (read-only for tests; write through the repositories). */
  readonly tables: {
    events: EventRow[]
    rejected: RejectedRow[]
    findings: FindingRecord[]
    occurrences: FindingOccurrence[]
    triage: TriageRecord[]
    exceptions: ExceptionRow[]
    alerts: AlertRow[]
  }
  /** The rows each scheduled rule (by SQL file name) returns. */
  readonly rules: Map<string, RuleRows>
  /** While false, every call fails as a ClickHouse outage would (retriable). */
  available: boolean
}

const k = (...parts: string[]) => parts.join('\u0000')
const SEVERITY_RANK: Readonly<Record<string, number>> = { critical: 4, high: 3, medium: 2 }
function pick<T extends object, K extends keyof T>(row: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>
  for (const key of keys) out[key] = row[key]
  return out
}

/** A table keyed by its sorting key: the highest version wins, an equal one replaces. */
class Replacing<T> {
  readonly rows = new Map<string, T>()
  constructor(
    private readonly key: (row: T) => string,
    private readonly version: (row: T) => number | string = () => 0,
  ) {}
  put(row: T) {
    const id = this.key(row)
    const old = this.rows.get(id)
    if (old === undefined || this.version(row) >= this.version(old)) this.rows.set(id, row)
  }
  get(id: string) {
    return this.rows.get(id)
  }
  values() {
    return [...this.rows.values()]
  }
}

/** The effective triage status: untriaged is open, resolved and seen again since is open. */
function effectiveStatus(f: FindingRecord, t: TriageRecord | undefined): string {
  if (t === undefined || t.status === '') return 'open'
  return t.status === 'resolved' && f.last_seen > t.updated_at ? 'open' : t.status
}

/** Which of `parts` pages an id falls in (any split that covers every id once will do). */
function pageOf(id: string, parts: number): number {
  let h = 0
  for (let i = 0; i < id.length; i++) h = (Math.imul(h, 31) + id.charCodeAt(i)) >>> 0
  return h % parts
}
const desc = (a: string, b: string) => (a < b ? 1 : a > b ? -1 : 0)
/** An absent filter matches everything. */
const eq = (want: string | undefined, have: string) => want === undefined || want === have

function notDoubled(name: string): never {
  throw new StorageError(
    'ERR_STORAGE_QUERY',
    `memory storage: ${name} has no in-memory double (see docs/design/storage.md)`,
  )
}

/** The rows of an events insert, read back from its bytes. */
function rowsOf(insert: EventsInsert): EventRow[] {
  const rows: EventRow[] = []
  for (const line of insert.body.toString('utf8').split('\n')) {
    if (line === '') continue
    const values = JSON.parse(line) as unknown[]
    const row: Record<string, unknown> = {}
    insert.columns.forEach((c, i) => (row[c] = values[i]))
    rows.push(row as unknown as EventRow)
  }
  return rows
}

export function createMemoryRepositories(): MemoryRepositories {
  const events = new Replacing<EventRow>((r) => k(r.tenant, r.event_id))
  const rejected = new Replacing<RejectedRow>((r) => k(r.tenant, r.rejection_id))
  const findings = new Replacing<FindingRecord>(
    (r) => k(r.tenant, r.finding_id),
    (r) => r.version,
  )
  const occurrences = new Replacing<FindingOccurrence>((r) =>
    k(r.tenant, r.finding_id, r.occurrence_id),
  )
  const triage = new Replacing<TriageRecord>(
    (r) => k(r.tenant, r.finding_id),
    (r) => r.version,
  )
  const exceptions = new Replacing<ExceptionRow>(
    (r) => k(r.tenant, r.exception_id),
    (r) => r.version,
  )
  const alerts = new Replacing<AlertRow>(
    (r) => k(r.alert_id, r.channel),
    (r) => r.version,
  )
  const watermarks = new Map<string, number>()
  const observers: ((events: EventIdentities, lines: readonly number[] | undefined) => void)[] = []
  const rules = new Map<string, RuleRows>()

  const up = () => {
    if (!memory.available)
      throw new StorageError('ERR_SINK_UNAVAILABLE', 'memory storage: unavailable', {
        retriable: true,
      })
  }
  /** A query with no double: an outage first, as every call. */
  const undoubled = (name: string) => async (): Promise<never> => {
    up()
    return notDoubled(name)
  }
  const stored = (r: EventRow): StoredEvent => pick(r, STORED_EVENT_COLUMNS)
  const byOccurrence = (a: EventRow, b: EventRow) =>
    a.occurred_at === b.occurred_at
      ? a.event_id < b.event_id
        ? -1
        : 1
      : a.occurred_at < b.occurred_at
        ? -1
        : 1
  const now = () => toDateTime64(Date.now())

  function listRow(f: FindingRecord): FindingListRow {
    const t = triage.get(k(f.tenant, f.finding_id))
    return {
      id: f.finding_id,
      rule_id: f.rule_id,
      severity: f.severity,
      title: f.title,
      status: effectiveStatus(f, t),
      tenant: f.tenant,
      first_seen: f.first_seen,
      last_seen: f.last_seen,
      count: f.count,
      keys: { ...f.keys },
      evidence: f.evidence,
      mappings: f.mappings,
      note: t?.note ?? '',
      assignee: t?.assignee ?? '',
      triaged_by: t?.updated_by ?? '',
      triaged_at: t?.updated_at ?? toDateTime64(0),
    }
  }

  /** The findings a list query matches (cursor and limit aside), as listed. */
  function matching(q: FindingsQuery): FindingListRow[] {
    const { since, until } = timeSpan(q)
    const within = (list: readonly string[] | undefined, one: string | undefined, v: string) => {
      const all = [...(list ?? []), ...(one === undefined ? [] : [one])]
      return all.length === 0 || all.includes(v)
    }
    const named = q.token !== undefined && q.tokenInEvidence ? JSON.stringify(q.token) : undefined
    const text = q.text ? q.text.toLowerCase() : undefined
    return findings
      .values()
      .filter(
        (f) =>
          f.tenant === q.tenant &&
          eq(q.id, f.finding_id) &&
          within(q.rules, q.rule, f.rule_id) &&
          within(q.severities, q.severity, f.severity) &&
          within(q.resources, q.resource, f.resource) &&
          eq(q.client, f.client_id) &&
          (eq(q.token, f.token_key) || (named !== undefined && f.evidence.includes(named))) &&
          (text === undefined ||
            [f.client_id, f.resource, f.token_key, f.rule_id, f.title].some((v) =>
              v.toLowerCase().includes(text),
            )) &&
          f.last_seen >= since &&
          f.last_seen < until,
      )
      .map(listRow)
      .filter((r) => within(q.statuses, q.status, r.status))
  }

  /** Per finding of the tenant with occurrences in the period: their count, first and last. */
  function periodOccurrences(scope: ReportScope) {
    const [since, until] = [toDateTime64(scope.since), toDateTime64(scope.until)]
    const per = new Map<string, { occurrences: number; first: string; last: string }>()
    for (const o of occurrences.values()) {
      if (o.tenant !== scope.tenant || o.at < since || o.at >= until) continue
      const p = per.get(o.finding_id)
      if (p === undefined) per.set(o.finding_id, { occurrences: 1, first: o.at, last: o.at })
      else {
        p.occurrences += 1
        if (o.at < p.first) p.first = o.at
        if (o.at > p.last) p.last = o.at
      }
    }
    return [...per].flatMap(([id, p]) => {
      const f = findings.get(k(scope.tenant, id))
      return f ? [{ f, p, status: effectiveStatus(f, triage.get(k(f.tenant, id))) }] : []
    })
  }

  function sendInsert(insert: EventsInsert) {
    up()
    for (const row of rowsOf(insert)) events.put(row)
  }

  const memory: MemoryRepositories = {
    available: true,
    triageHistory: memoryTriageHistory(up, {
      get: (tenant, id) => triage.get(k(tenant, id)),
      put: (row) => triage.put(row),
    }),
    rules,
    get tables() {
      return {
        events: events.values(),
        rejected: rejected.values(),
        findings: findings.values(),
        occurrences: occurrences.values(),
        triage: triage.values(),
        exceptions: exceptions.values(),
        alerts: alerts.values(),
      }
    },

    events: {
      async byId(tenant, eventId) {
        up()
        return events.get(k(tenant, eventId))
      },
      async search(q) {
        up()
        const { since, until } = timeSpan(q)
        return events
          .values()
          .filter(
            (r) =>
              r.tenant === q.tenant &&
              r.occurred_at >= since &&
              r.occurred_at < until &&
              eq(q.type, r.event_type) &&
              eq(q.client, r.client_id) &&
              eq(q.subject, r.subject) &&
              (q.resource === undefined ||
                r.resource_canonical === q.resource ||
                r.granted_aud_canonical.includes(q.resource) ||
                r.requested_resources_canonical.includes(q.resource)) &&
              eq(q.token, r.token_key) &&
              eq(q.decision, r.decision) &&
              eq(q.tool, r.tool_name) &&
              (q.after === undefined ||
                r.occurred_at < q.after.at ||
                (r.occurred_at === q.after.at && r.event_id < q.after.id)),
          )
          .sort((a, b) => byOccurrence(b, a))
          .slice(0, q.fetch)
          .map(stored)
      },
      async ofToken(tenant, key) {
        up()
        return events
          .values()
          .filter(
            (r) => r.tenant === tenant && (r.token_key === key || r.subject_token_key === key),
          )
          .sort(byOccurrence)
          .slice(0, TOKEN_EVENTS_LIMIT)
          .map(stored)
      },
      async tokenPresentations(tenant, key, after, fetch) {
        up()
        return events
          .values()
          .filter(
            (r) =>
              r.tenant === tenant &&
              r.token_key === key &&
              r.event_type === 'token.presented' &&
              (after === undefined ||
                r.occurred_at > after.at ||
                (r.occurred_at === after.at && r.event_id > after.id)),
          )
          .sort(byOccurrence)
          .slice(0, fetch)
          .map(stored)
      },
      async tokenSummary(tenant, key, limit) {
        up()
        const groups = new Map<string, TokenSummaryRow>()
        for (const r of events.values()) {
          if (r.tenant !== tenant || r.token_key !== key || r.event_type !== 'token.presented')
            continue
          const resource = r.resource_canonical || r.resource
          const g = groups.get(k(resource, r.decision))
          if (g === undefined)
            groups.set(k(resource, r.decision), {
              resource,
              decision: r.decision,
              count: 1,
              first_seen: r.occurred_at,
              last_seen: r.occurred_at,
            })
          else {
            g.count += 1
            if (r.occurred_at < g.first_seen) g.first_seen = r.occurred_at
            if (r.occurred_at > g.last_seen) g.last_seen = r.occurred_at
          }
        }
        return [...groups]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .slice(0, limit)
          .map(([, g]) => g)
      },
      async tokenLifecycle(tenant, key, limit) {
        up()
        return events
          .values()
          .filter(
            (r) =>
              r.tenant === tenant &&
              ((r.token_key === key && r.event_type !== 'token.presented') ||
                r.subject_token_key === key),
          )
          .sort(byOccurrence)
          .slice(0, limit)
          .map(stored)
      },
      async tokenTimelineEvents(tenant, key, after, fetch, limit) {
        const [presented, lifecycle] = await Promise.all([
          this.tokenPresentations(tenant, key, after, fetch),
          this.tokenLifecycle(tenant, key, limit),
        ])
        return { presented, lifecycle }
      },
      delegationChain: (tenant, key, bounds) =>
        walkDelegationChain(
          async (keys, limit) => {
            up()
            const wanted = new Set(keys)
            return events
              .values()
              .filter(
                (r) =>
                  r.tenant === tenant &&
                  r.event_type === 'token.exchanged' &&
                  (wanted.has(r.token_key) || wanted.has(r.subject_token_key)),
              )
              .sort(byOccurrence)
              .slice(0, limit)
              .map((r) => delegationLink({ ...r, act_depth: r.attributes.act_depth ?? '' }))
          },
          key,
          bounds,
        ),
      async existingIds(tenants, ids) {
        up()
        const wanted = new Set(ids)
        const within = new Set(tenants)
        return events
          .values()
          .filter((r) => wanted.has(r.event_id) && within.has(r.tenant))
          .map((r) => ({ tenant: r.tenant, id: r.event_id }))
      },
      async storedIdCount() {
        up()
        return events.values().length
      },
      async storedIds(parts, part) {
        up()
        return events
          .values()
          .filter((r) => pageOf(r.event_id, parts) === part)
          .map((r): [string, string] => [r.tenant, r.event_id])
      },
      async *recentTokenEvents(since, limit) {
        up()
        const from = toDateTime64(since)
        const recent = events
          .values()
          .filter((r) => r.received_at >= from && r.token_key !== '')
          .sort((a, b) => desc(a.occurred_at, b.occurred_at))
          .slice(0, limit)
          .reverse()
        if (recent.length > 0) yield recent.map((r) => pick(r, TOKEN_EVENT_COLUMNS))
      },
      async insert(rows, options) {
        const insert = encodedInsert(encodeEvents(rows), undefined, options)
        if (insert) sendInsert(insert)
      },
      async insertRejected(rows) {
        up()
        for (const r of rows) rejected.put(r)
      },
      prepareInsert(encoded, lines, options) {
        const insert = encodedInsert(encoded, lines, options)
        if (insert) for (const observe of observers) observe(encoded, lines)
        return insert
      },
      async sendInsert(insert) {
        sendInsert(insert)
      },
      async resendInsert(insert) {
        for (const observe of observers) observe(identitiesOf(insert), undefined)
        sendInsert(insert)
      },
      observeInserts(observer) {
        observers.push(observer)
      },
    },

    findings: {
      async list(q) {
        up()
        const sort = q.sort ?? DEFAULT_FINDING_SORT
        const after = findingsCursor(q)
        return matching(q)
          .map((r) => ({ r, key: findingSortKey(r, sort) }))
          .filter(({ key }) => after === undefined || compareSortKeys(key, after) > 0)
          .sort((a, b) => compareSortKeys(a.key, b.key))
          .slice(0, q.limit ?? 1)
          .map(({ r }) => r)
      },
      async count(q, bound = FINDINGS_TOTAL_BOUND) {
        up()
        const value = matching(q).length
        return { value, exact: value <= bound }
      },
      async tokenHasFindings(tenant, token) {
        up()
        const named = JSON.stringify(token)
        return findings
          .values()
          .some((f) => f.tenant === tenant && (f.token_key === token || f.evidence.includes(named)))
      },
      async status(tenant, id) {
        up()
        const f = findings.get(k(tenant, id))
        if (f === undefined) return undefined
        const r = listRow(f)
        return {
          finding_id: r.id,
          rule_id: r.rule_id,
          count: r.count,
          last_seen: r.last_seen,
          status: r.status,
          note: r.note,
          assignee: r.assignee,
        }
      },
      async addOccurrences(rows) {
        up()
        for (const o of rows) occurrences.put(o)
      },
      async aggregates(ids) {
        up()
        const wanted = new Set(ids)
        const per = new Map<string, FindingOccurrence[]>()
        for (const o of occurrences.values()) {
          if (!wanted.has(o.finding_id)) continue
          const key = k(o.tenant, o.finding_id)
          per.set(key, [...(per.get(key) ?? []), o])
        }
        return [...per.values()].map((list) => ({
          tenant: list[0]!.tenant,
          finding_id: list[0]!.finding_id,
          count: list.length,
          first_seen: list.map((o) => o.at).sort()[0]!,
          last_seen: list
            .map((o) => o.at)
            .sort()
            .at(-1)!,
          severity_rank: Math.max(...list.map((o) => SEVERITY_RANK[o.severity] ?? 1)),
        }))
      },
      async write(rows) {
        up()
        for (const f of rows) findings.put(f)
      },
      async triage(row) {
        up()
        triage.put(row)
      },
    },

    exceptions: {
      async write(row) {
        up()
        exceptions.put(row)
      },
      async active() {
        up()
        const at = now()
        return exceptions
          .values()
          .filter((e) => !e.deleted && e.expires_at > at)
          .map(({ deleted: _deleted, version: _version, ...e }) => e)
      },
      async list(tenant, id = '') {
        up()
        const at = now()
        return exceptions
          .values()
          .filter((e) => e.tenant === tenant && !e.deleted && (id === '' || e.exception_id === id))
          .sort((a, b) => desc(a.created_at, b.created_at))
          .slice(0, 1000)
          .map((e) => ({
            id: e.exception_id,
            rule_id: e.rule_id,
            match: e.match,
            owner: e.owner,
            reason: e.reason,
            created_at: e.created_at,
            expires_at: e.expires_at,
            active: e.expires_at > at,
          }))
      },
    },

    outbox: {
      async write(rows) {
        up()
        for (const a of rows) alerts.put(a)
      },
      async due(limit) {
        up()
        const at = now()
        return alerts
          .values()
          .filter((a) => !a.delivered && a.next_attempt_at <= at)
          .sort((a, b) => desc(b.created_at, a.created_at))
          .slice(0, limit)
          .map((a) =>
            pick(a, [
              'tenant',
              'alert_id',
              'channel',
              'finding_id',
              'payload',
              'created_at',
              'attempts',
            ]),
          )
      },
    },

    reports: {
      sources: undoubled('report-sources'),
      sampleEvents: undoubled('report-sample-events'),
      closedFindings: undoubled('report-closed-findings'),
      topFindings: undoubled('report-top-findings'),
      tokenMetrics: undoubled('report-token-metrics'),
      drift: undoubled('report-drift'),
      eventCounts: undoubled('report-event-metrics'),
      async findingCounts(scope) {
        up()
        const groups = new Map<string, { key: string[]; findings: number; occurrences: number }>()
        for (const { f, p, status } of periodOccurrences(scope)) {
          const key = [f.rule_id, f.severity, status]
          const g = groups.get(k(...key)) ?? { key, findings: 0, occurrences: 0 }
          g.findings += 1
          g.occurrences += p.occurrences
          groups.set(k(...key), g)
        }
        return [...groups]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([, g]) => ({
            rule_id: g.key[0]!,
            severity: g.key[1]!,
            status: g.key[2]!,
            findings: g.findings,
            occurrences: g.occurrences,
          }))
      },
      async findings(scope, limit) {
        up()
        return periodOccurrences(scope)
          .sort(
            (a, b) =>
              (SEVERITY_RANK[b.f.severity] ?? 1) - (SEVERITY_RANK[a.f.severity] ?? 1) ||
              desc(a.p.last, b.p.last) ||
              desc(b.f.finding_id, a.f.finding_id),
          )
          .slice(0, limit)
          .map(({ f, p, status }) => ({
            id: f.finding_id,
            rule_id: f.rule_id,
            severity: f.severity,
            title: f.title,
            status,
            keys: { ...f.keys },
            first_seen: f.first_seen,
            last_seen: f.last_seen,
            count: f.count,
            period_occurrences: p.occurrences,
            period_first_seen: p.first,
            period_last_seen: p.last,
          }))
      },
    },

    catalog: {
      resources: undoubled('resource-inventory'),
      clients: undoubled('client-usage'),
      async clientFindings(tenant, since, clients) {
        up()
        const from = toDateTime64(Math.floor(since / 86_400_000) * 86_400_000)
        const wanted = new Set(clients)
        const per = new Map<string, { findings: number; open_findings: number }>()
        for (const f of findings.values()) {
          if (f.tenant !== tenant || !wanted.has(f.client_id) || f.last_seen < from) continue
          const c = per.get(f.client_id) ?? { findings: 0, open_findings: 0 }
          c.findings += 1
          if (effectiveStatus(f, triage.get(k(f.tenant, f.finding_id))) === 'open')
            c.open_findings += 1
          per.set(f.client_id, c)
        }
        return [...per].map(([client_id, c]) => ({ client_id, ...c }))
      },
    },

    detection: {
      async watermark(ruleId) {
        up()
        return watermarks.get(ruleId)
      },
      async setWatermark(ruleId, at) {
        up()
        watermarks.set(ruleId, at)
      },
      async runRule(sql, params, from, to) {
        up()
        const rows = rules.get(sql)
        return rows ? rows(params, from, to) : notDoubled(`sql/rules/${sql}.sql`)
      },
    },

    async ping() {
      return memory.available
    },
  }
  return memory
}
