/**
 * The storage boundary: every read and write of ClickHouse as one typed function per named query
 * file (`sql/queries/<name>.sql`, `sql/rules/<name>.sql`) or table insert, grouped by what it is
 * about. Nothing outside `src/storage/` holds a ClickHouse client or SQL text: it calls these.
 *
 * Conventions: times go in as epoch milliseconds (or DateTime64 text where the caller already
 * holds stored text, such as a cursor) and come back as stored (`YYYY-MM-DD hh:mm:ss.sss`, UTC);
 * an absent filter is `undefined`, never ''; every failure is a StorageError (mapStorageError),
 * retriable for an outage. Two implementations: ClickHouse (clickhouse-repositories.ts) and
 * memory (memory-repositories.ts, for unit tests; see docs/design/storage.md for what it does not
 * double).
 */
import type { RejectedRow } from '../events/rejected-row.js'
import { toDateTime64, type EventRow, type StoredEvent } from '../events/event-row.js'
import type { EncodedEvents, EventIdentities, EventsInsert, InsertOptions } from './events-store.js'
import type { TriageHistoryRepository } from './triage-history.js'

/** The end of every open time range (2999-01-01). */
export const OPEN_END = Date.parse('2999-01-01T00:00:00.000Z')

/** [since, until) of a query as DateTime64 text: open at both ends by default. */
export function timeSpan(q: { since?: number; until?: number }): { since: string; until: string } {
  return { since: toDateTime64(q.since ?? 0), until: toDateTime64(q.until ?? OPEN_END) }
}

/** The most events `events.ofToken` reads (token-events.sql's LIMIT). */
export const TOKEN_EVENTS_LIMIT = 10_000

/**
 * The columns of an `events` row the detector's token state reads: what
 * recent-token-events.sql selects (a test checks the two agree).
 */
export const TOKEN_EVENT_COLUMNS = [
  'tenant',
  'token_key',
  'event_id',
  'event_type',
  'occurred_at',
  'client_id',
  'decision',
  'token_exp',
  'token_aud_canonical',
  'granted_aud_canonical',
  'presented_aud_canonical',
  'resource_canonical',
  'network_ip',
  'network_user_agent',
  'token_scopes',
  'granted_scopes',
  'subject_token_key',
  'attributes',
  // dpop-proof-replay (sender-constrained tokens): the proof id and where it was presented
  'proof_jti',
  'source_id',
] as const satisfies readonly (keyof EventRow)[]

/** A row of recent-token-events.sql. */
export type TokenEventRow = Pick<EventRow, (typeof TOKEN_EVENT_COLUMNS)[number]>

/** events-search.sql: one tenant's events, newest first. Absent filters match everything. */
export interface EventSearch {
  tenant: string
  /** occurred_at from (ms, inclusive; default 0) */
  since?: number
  /** occurred_at until (ms, exclusive; default OPEN_END) */
  until?: number
  type?: string
  client?: string
  subject?: string
  /** A canonical resource: matched against the resource, granted and requested audiences. */
  resource?: string
  token?: string
  decision?: string
  tool?: string
  /** Resume strictly after this (occurred_at DateTime64 text, event id). */
  after?: { at: string; id: string }
  /** Rows to read (versions of one event stored twice are adjacent, each counts). */
  fetch: number
}

/** A row of token-summary.sql (times as stored). */
export interface TokenSummaryRow {
  resource: string
  decision: string
  count: number
  first_seen: string
  last_seen: string
}

/** One RFC 8693 exchange of a delegation chain: `token_key` was issued for `subject_token_key`. */
export interface DelegationLink {
  event_id: string
  /** ISO 8601 */
  occurred_at: string
  token_key: string
  subject_token_key: string
  client_id: string
  actor: { subject: string | null; client_id: string | null }
  granted_aud: string[]
  scopes: string[]
  /** `attributes.act_depth` as the AS recorded it, when it did */
  act_depth: number | null
}

/** A token's delegation chain, from its tenant's stored `token.exchanged` events. */
export interface DelegationChain {
  token_key: string
  /** Nearest first: the exchange that issued this token, then the one that issued its subject... */
  ancestors: DelegationLink[]
  /** The exchanges that took this token (or one of its descendants) as subject, level by level. */
  descendants: DelegationLink[]
  /** True when a bound (levels or links) cut the walk short. */
  truncated: boolean
}

/** How far a delegation chain is walked. */
export interface DelegationBounds {
  /** Levels each way (default 16). */
  maxLevels?: number
  /** Links in all (default 256). */
  maxLinks?: number
}

export interface EventsRepository {
  /** event-by-id.sql: one event of a tenant (versions collapsed), or undefined. */
  byId(tenant: string, eventId: string): Promise<EventRow | undefined>
  /** events-search.sql */
  search(query: EventSearch): Promise<StoredEvent[]>
  /**
   * token-events.sql: every event of the token, or exchanged from it, oldest first (at most
   * TOKEN_EVENTS_LIMIT).
   */
  ofToken(tenant: string, key: string): Promise<StoredEvent[]>
  /**
   * token-presentations.sql: a page of the token's presentations, oldest first, strictly after
   * `after` (occurred_at DateTime64 text, event id); at most `fetch`.
   */
  tokenPresentations(
    tenant: string,
    key: string,
    after: { at: string; id: string } | undefined,
    fetch: number,
  ): Promise<StoredEvent[]>
  /** token-summary.sql: the token's presentations per resource and decision; at most `limit`. */
  tokenSummary(tenant: string, key: string, limit: number): Promise<TokenSummaryRow[]>
  /**
   * token-lifecycle.sql: the token's issuance and exchanges, and the exchanges that took it as
   * subject, oldest first; at most `limit`.
   */
  tokenLifecycle(tenant: string, key: string, limit: number): Promise<StoredEvent[]>
  /**
   * token-timeline-events.sql: tokenPresentations and tokenLifecycle in one read of the token's
   * events (the same answers).
   */
  tokenTimelineEvents(
    tenant: string,
    key: string,
    after: { at: string; id: string } | undefined,
    fetch: number,
    limit: number,
  ): Promise<{ presented: StoredEvent[]; lifecycle: StoredEvent[] }>
  /**
   * delegation-links.sql, a level per query: the exchanges back to the token the user consented
   * to and every token exchanged from this one (a key seen twice, a cycle in forged events, is
   * not followed again).
   */
  delegationChain(tenant: string, key: string, bounds?: DelegationBounds): Promise<DelegationChain>
  /**
   * existing-event-ids.sql: which of these ids are stored in these tenants, whatever their
   * occurred_at (an id names one event), with their tenant.
   */
  existingIds(
    tenants: readonly string[],
    ids: readonly string[],
  ): Promise<{ tenant: string; id: string }[]>
  /** stored-event-count.sql: the rows of `events` (an upper bound of its distinct ids). */
  storedIdCount(): Promise<number>
  /**
   * stored-event-ids.sql: page `part` of `parts` of the stored (tenant, id) pairs; the pages
   * split every stored id among them, each about 1/parts of the whole.
   */
  storedIds(parts: number, part: number): Promise<[string, string][]>
  /**
   * recent-token-events.sql: the newest `limit` events with a token received since `since` (ms),
   * oldest first, in batches (a stream: an hour of events is more text than one string holds).
   */
  recentTokenEvents(since: number, limit: number): AsyncIterable<TokenEventRow[]>
  /** Insert rows into `events` (encoded as the sink encodes them). */
  insert(rows: readonly EventRow[], options?: InsertOptions): Promise<void>
  /** Insert into `rejected_events`; the same token makes a repeat of the insert a no-op. */
  insertRejected(rows: readonly RejectedRow[], dedupToken: string): Promise<void>
  /**
   * The sink's insert path. prepareInsert: the insert of the encoded events (or only `lines`),
   * undefined when there is none, reported to the insert observers as sent already; sendInsert
   * sends it (again: the same token makes a repeat a no-op); resendInsert sends one an earlier
   * process prepared, reporting its events to the observers first.
   */
  prepareInsert(
    events: EncodedEvents,
    lines: readonly number[] | undefined,
    options?: InsertOptions,
  ): EventsInsert | undefined
  sendInsert(insert: EventsInsert): Promise<void>
  resendInsert(insert: EventsInsert): Promise<void>
  /**
   * Call `observer` with the events of every insert into this database's `events` (the lines
   * given, or all when undefined) before it is sent: the embedded engine's filter of stored ids.
   */
  observeInserts(
    observer: (events: EventIdentities, lines: readonly number[] | undefined) => void,
  ): void
}

/** A `findings` row as the detector writes it. */
export interface FindingRecord {
  tenant: string
  finding_id: string
  rule_id: string
  severity: string
  title: string
  keys: Readonly<Record<string, string>>
  token_key: string
  client_id: string
  resource: string
  /** JSON text */
  evidence: string
  /** JSON text */
  mappings: string
  first_seen: string
  last_seen: string
  count: number
  updated_at: string
  version: number
}

/** A `finding_occurrences` row: one per event (or scheduled window) of a finding. */
export interface FindingOccurrence {
  tenant: string
  finding_id: string
  occurrence_id: string
  severity: string
  at: string
}

/** finding-aggregates.sql */
export interface FindingAggregate {
  tenant: string
  finding_id: string
  count: number
  first_seen: string
  last_seen: string
  /** 1 low, 2 medium, 3 high, 4 critical: the highest of the occurrences. */
  severity_rank: number
}

/** A `finding_triage` row: the latest version wins. */
export interface TriageRecord {
  tenant: string
  finding_id: string
  status: string
  note: string
  assignee: string
  updated_at: string
  updated_by: string
  version: number
}

/** What the findings list sorts on (each ascending or descending). */
export const FINDING_SORT_FIELDS = ['last_seen', 'first_seen', 'severity', 'count'] as const
export type FindingSortField = (typeof FINDING_SORT_FIELDS)[number]
export interface FindingSort {
  field: FindingSortField
  descending: boolean
}
/** The list's default order: newest last_seen first. */
export const DEFAULT_FINDING_SORT: FindingSort = { field: 'last_seen', descending: true }

/**
 * A finding's place in a sort, as findings-list.sql computes it: two signed integers (ascending
 * order on them is the sort) and the finding id. For a severity or count sort the second is
 * last_seen (newest first among equals, when descending); otherwise 0.
 */
export interface FindingSortKey {
  k1: number
  k2: number
  id: string
}

const SEVERITY_RANKS: Readonly<Record<string, number>> = { critical: 4, high: 3, medium: 2 }
const storedMs = (dt: string) => Date.parse(`${dt.replace(' ', 'T')}Z`)

/** The sort key of a listed finding (the cursor of a page ends on its last row's). */
export function findingSortKey(
  r: Pick<FindingListRow, 'id' | 'first_seen' | 'last_seen' | 'severity' | 'count'>,
  sort: FindingSort = DEFAULT_FINDING_SORT,
): FindingSortKey {
  const sign = sort.descending ? -1 : 1
  const k1 =
    sort.field === 'first_seen'
      ? storedMs(r.first_seen)
      : sort.field === 'severity'
        ? (SEVERITY_RANKS[r.severity] ?? 1)
        : sort.field === 'count'
          ? Number(r.count)
          : storedMs(r.last_seen)
  const k2 = sort.field === 'severity' || sort.field === 'count' ? storedMs(r.last_seen) : 0
  // `|| 0`: no negative zero in a cursor.
  return { k1: sign * k1 || 0, k2: sign * k2 || 0, id: r.id }
}

/** Compare two sort keys (ascending order is the list's order). */
export function compareSortKeys(a: FindingSortKey, b: FindingSortKey): number {
  return a.k1 - b.k1 || a.k2 - b.k2 || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/**
 * findings-list.sql (and findings-count.sql): one tenant's findings with their triage, in a sort
 * (newest last_seen first by default). The one builder of its parameters (the findings list, one
 * finding, the token timeline's findings). A list filter matches any of its values; the single
 * ones (`rule`, `severity`, `status`, `resource`) add one value to it.
 */
export interface FindingsQuery {
  tenant: string
  id?: string
  rule?: string
  rules?: readonly string[]
  severity?: string
  severities?: readonly string[]
  /** The effective status: untriaged reads as open, resolved and seen again since as open. */
  status?: string
  statuses?: readonly string[]
  /** Matched exactly against the finding's resource key (give every spelling to match). */
  resource?: string
  resources?: readonly string[]
  client?: string
  token?: string
  /** With `token`: also the findings whose evidence names the token (as a JSON string). */
  tokenInEvidence?: boolean
  /** Case-insensitive text in the client, resource, token key, rule id or title. */
  text?: string
  /** last_seen from (ms, inclusive; default 0) */
  since?: number
  /** last_seen until (ms, exclusive; default OPEN_END) */
  until?: number
  /** default DEFAULT_FINDING_SORT */
  sort?: FindingSort
  /** Resume strictly after this key (of the same sort). */
  cursor?: FindingSortKey
  /** Resume strictly after this (last_seen DateTime64 text, finding id), in the default sort. */
  after?: { seen: string; id: string }
  /** default 1 */
  limit?: number
}

/** The cursor of a query: its own, or the legacy (last_seen, id) of the default sort. */
export function findingsCursor(q: FindingsQuery): FindingSortKey | undefined {
  if (q.cursor) return q.cursor
  if (q.after)
    return { k1: -Date.parse(`${q.after.seen.replace(' ', 'T')}Z`), k2: 0, id: q.after.id }
  return undefined
}

/** findings-count.sql: the count is exact up to this many findings, estimated above. */
export const FINDINGS_TOTAL_BOUND = 10_000

/** How many findings a list query matches. */
export interface FindingsTotal {
  value: number
  /** false: more than FINDINGS_TOTAL_BOUND matched and `value` is an estimate */
  exact: boolean
}

/** A row of findings-list.sql. */
export interface FindingListRow {
  id: string
  rule_id: string
  severity: string
  title: string
  status: string
  tenant: string
  first_seen: string
  last_seen: string
  count: number
  keys: Record<string, string>
  evidence: string
  mappings: string
  note: string
  assignee: string
  /**
   * Who last triaged it and when (finding_triage, the row finding-triage-latest.sql reads): ''
   * and the epoch when never. The list answers them with the page, so that the triage fields
   * need no read of their own.
   */
  triaged_by: string
  /** DateTime64 text (UTC) */
  triaged_at: string
}

/** A row of finding-status.sql. */
export interface FindingStatusRow {
  finding_id: string
  rule_id: string
  count: number
  last_seen: string
  status: string
  note: string
  assignee: string
}

export interface FindingsRepository {
  /** findings-list.sql */
  list(query: FindingsQuery): Promise<FindingListRow[]>
  /** findings-count.sql: the findings `query` matches (its cursor and limit ignored). */
  count(query: FindingsQuery, bound?: number): Promise<FindingsTotal>
  /** token-has-findings.sql: keyed on the token, or with evidence that names it. */
  tokenHasFindings(tenant: string, token: string): Promise<boolean>
  /** finding-status.sql */
  status(tenant: string, id: string): Promise<FindingStatusRow | undefined>
  /** Insert into `finding_occurrences` (an occurrence stored twice counts once). */
  addOccurrences(rows: readonly FindingOccurrence[]): Promise<void>
  /** finding-aggregates.sql: over all tenants' occurrences of these finding ids. */
  aggregates(ids: readonly string[]): Promise<FindingAggregate[]>
  /** Insert into `findings` (the highest version of a finding wins). */
  write(rows: readonly FindingRecord[]): Promise<void>
  /** Insert into `finding_triage`. */
  triage(row: TriageRecord): Promise<void>
}

/** An `exceptions` row: deleting writes a newer version with `deleted`. */
export interface ExceptionRow {
  tenant: string
  exception_id: string
  rule_id: string
  match: Record<string, string>
  owner: string
  reason: string
  created_at: string
  expires_at: string
  deleted: boolean
  version: number
}

/** A row of active-exceptions.sql. */
export type ExceptionRecord = Omit<ExceptionRow, 'deleted' | 'version'>

/** A row of exceptions-list.sql. */
export type ExceptionListRow = Omit<ExceptionRecord, 'tenant' | 'exception_id'> & {
  id: string
  active: boolean
}

export interface ExceptionsRepository {
  /** Insert into `exceptions`. */
  write(row: ExceptionRow): Promise<void>
  /** active-exceptions.sql: every tenant's exceptions in force (not deleted, not expired). */
  active(): Promise<ExceptionRecord[]>
  /** exceptions-list.sql: one tenant's exceptions not deleted (one, given `id`), newest first. */
  list(tenant: string, id?: string): Promise<ExceptionListRow[]>
}

/** An `alert_outbox` row. */
export interface AlertRow {
  tenant: string
  alert_id: string
  channel: string
  finding_id: string
  /** JSON text */
  payload: string
  created_at: string
  attempts: number
  next_attempt_at: string
  delivered: boolean
  last_error: string
  /** 0 for a new alert (an alert already queued keeps its own state); grows with each attempt. */
  version: number
}

/** A row of pending-alerts.sql. */
export type DueAlert = Pick<
  AlertRow,
  'tenant' | 'alert_id' | 'channel' | 'finding_id' | 'payload' | 'created_at' | 'attempts'
>

export interface OutboxRepository {
  /** Insert into `alert_outbox`. */
  write(rows: readonly AlertRow[]): Promise<void>
  /** pending-alerts.sql: undelivered alerts due now, oldest first. */
  due(limit: number): Promise<DueAlert[]>
}

/** One tenant over [since, until) (ms). */
export interface ReportScope {
  tenant: string
  since: number
  until: number
}

/** The per-event counts of the evidence metrics. */
export interface EvidenceCounts {
  events: number
  presentations: number
  accepted: number
  accepted_validated: number
  accepted_mismatches: number
  token_requests: number
  token_requests_with_resource: number
  loggable_presentations: number
  complete_presentations: number
  mcp_presentations: number
}

/** The names of EvidenceCounts, in the order of the queries. */
export const EVIDENCE_COUNTS = [
  'events',
  'presentations',
  'accepted',
  'accepted_validated',
  'accepted_mismatches',
  'token_requests',
  'token_requests_with_resource',
  'loggable_presentations',
  'complete_presentations',
  'mcp_presentations',
] as const satisfies readonly (keyof EvidenceCounts)[]

/**
 * report-token-metrics.sql and report-token-repeats.sql: the counts (tokens without repeats) and
 * the per-token figures.
 */
export interface TokenMetricsRow extends EvidenceCounts {
  tokens_with_repeats: number
  /** cityHash64 of the token keys holding a repeat, as decimal text. */
  repeated_tokens: string[]
  tokens_with_aud: number
  multi_audience_tokens: number
  cross_audience_replays: number
  accepted_tokens_with_exp: number
  expired_tokens_accepted: number
  tokens_with_lifetime: number
  lifetime_quantiles: number[]
}

/** report-drift.sql */
export interface DriftRow {
  /** Drift keys with two or more raw spellings, sorted. */
  drifted_keys: string[]
  /** Their (drift key, raw spelling) pairs, sorted. */
  drifted_spellings: [string, string][]
}

/** report-finding-counts.sql */
export interface FindingCountRow {
  rule_id: string
  severity: string
  status: string
  findings: number
  occurrences: number
}

/** report-findings.sql (times as stored). */
export interface ReportFindingRow {
  id: string
  rule_id: string
  severity: string
  title: string
  status: string
  keys: Record<string, string>
  first_seen: string
  last_seen: string
  count: number
  period_occurrences: number
  period_first_seen: string
  period_last_seen: string
}

export interface ReportsRepository {
  /**
   * report-token-metrics.sql and report-token-repeats.sql side by side, and
   * report-token-counts.sql to take away the counts of the tokens holding a repeat (up to
   * `maxRepeated` of them); whole hours from the token_usage_hourly rollup, partial hours from
   * report_event_facts (migration 0016).
   */
  tokenMetrics(
    scope: ReportScope,
    options: { clockSkewS: number; maxRepeated: number },
  ): Promise<TokenMetricsRow>
  /** report-drift.sql */
  drift(scope: ReportScope): Promise<DriftRow>
  /**
   * report-event-metrics.sql: the counts of these tokens' events (their cityHash64), each event
   * once; `'all'`: of every event of the period, with FINAL.
   */
  eventCounts(scope: ReportScope, tokens: readonly bigint[] | 'all'): Promise<EvidenceCounts>
  /** report-finding-counts.sql */
  findingCounts(scope: ReportScope): Promise<FindingCountRow[]>
  /** report-findings.sql: at most `limit`. */
  findings(scope: ReportScope, limit: number): Promise<ReportFindingRow[]>
  /**
   * report-sources.sql: the sources seen from `lookbackFrom` (ms) to the period's end, the
   * busiest first, with their events in the period (0: silent in it); at most `limit`.
   */
  sources(scope: ReportScope, lookbackFrom: number, limit: number): Promise<ReportSourceRow[]>
  /** report-sample-events.sql: up to `perRule` events of each rule's findings in the period. */
  sampleEvents(
    scope: ReportScope,
    rules: readonly string[],
    perRule: number,
  ): Promise<Record<string, unknown>[]>
  /** report-closed-findings.sql: the findings closed by an analyst, latest first; at most `limit`. */
  closedFindings(scope: ReportScope, limit: number): Promise<ReportClosedFindingRow[]>
  /** report-top-findings.sql: up to `perRule` most severe open or acknowledged findings per rule. */
  topFindings(scope: ReportScope, perRule: number): Promise<Record<string, unknown>[]>
}

/** A row of report-sources.sql. */
export interface ReportSourceRow {
  source_kind: string
  source_id: string
  events: string | number
  period_first_seen: string
  last_seen: string
}

/** A row of report-closed-findings.sql. */
export interface ReportClosedFindingRow {
  id: string
  rule_id: string
  severity: string
  title: string
  status: string
  closed_at: string
  closed_by: string
  note: string
}

/** resource-inventory.sql and client-usage.sql: one page in key order after `after`. */
export interface CatalogPage {
  tenant: string
  /** From the start of this day (ms). */
  since: number
  /** The last key of the previous page ('' or absent: from the start). */
  after?: string
  limit: number
}

/** A row of resource-inventory.sql. */
export interface ResourceRow {
  drift_key: string
  canonical: string[]
  /** (raw spelling, role, events) */
  variants: [string, string, number][]
  accepted: number
  rejected: number
  first_seen: string
  last_seen: string
  drift: boolean
}

/** A row of client-usage.sql. */
export interface ClientUsageRow {
  client_id: string
  resources: string[]
  events: number
  tokens: number
  rejected: number
  first_seen: string
  last_seen: string
}

/** A row of client-findings.sql. */
export interface ClientFindingsRow {
  client_id: string
  findings: number
  open_findings: number
}

export interface CatalogRepository {
  /** resource-inventory.sql */
  resources(page: CatalogPage): Promise<ResourceRow[]>
  /** client-usage.sql */
  clients(page: CatalogPage): Promise<ClientUsageRow[]>
  /** client-findings.sql: per client of `clients`, findings last seen since the day of `since`. */
  clientFindings(
    tenant: string,
    since: number,
    clients: readonly string[],
  ): Promise<ClientFindingsRow[]>
}

export interface DetectionRepository {
  /** The rule's watermark (ms), or undefined before its first window. */
  watermark(ruleId: string): Promise<number | undefined>
  /** Insert into `detector_watermarks`. */
  setWatermark(ruleId: string, at: number): Promise<void>
  /**
   * sql/rules/<sql>.sql over the window [from, to) of received_at (DateTime64 text), with the
   * rule's own parameters: its rows, for the rule's toDetection.
   */
  runRule(
    sql: string,
    params: Readonly<Record<string, unknown>>,
    from: string,
    to: string,
  ): Promise<Record<string, unknown>[]>
}

/** Everything the rest of audtrail reads and writes. */
export interface Repositories {
  events: EventsRepository
  findings: FindingsRepository
  exceptions: ExceptionsRepository
  outbox: OutboxRepository
  reports: ReportsRepository
  catalog: CatalogRepository
  detection: DetectionRepository
  /** Triage changes per finding (triage-history.ts). */
  triageHistory: TriageHistoryRepository
  /** Whether storage answers (readiness). */
  ping(): Promise<boolean>
}
