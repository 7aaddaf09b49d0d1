/**
 * The repositories over ClickHouse: each function loads its named SQL file, binds its typed
 * parameters (defaults filled here, once), reads its rows and maps every failure through
 * mapStorageError. The only module that runs the named queries.
 */
import type { ClickHouseSettings } from '@clickhouse/client'
import type { RejectedRow } from '../events/rejected-row.js'
import type { ClickHouseConnection } from './client.js'
import { dayBlockParams } from './day-blocks.js'
import { delegationLink, walkDelegationChain, type DelegationLinkRow } from './delegation-chain.js'
import { mapStorageError } from './errors.js'
import { toDateTime64, type EventRow, type StoredEvent } from '../events/event-row.js'
import {
  getEventRow,
  insertEventRows,
  observeEventInserts,
  prepareEventsInsert,
  resendEventsInsert,
  sendEventsInsert,
} from './events-store.js'
import {
  DEFAULT_FINDING_SORT,
  FINDINGS_TOTAL_BOUND,
  findingsCursor,
  OPEN_END,
  timeSpan,
  type AlertRow,
  type CatalogPage,
  type ClientFindingsRow,
  type ClientUsageRow,
  type DriftRow,
  type DueAlert,
  type EventSearch,
  EVIDENCE_COUNTS,
  type EvidenceCounts,
  type ExceptionListRow,
  type ExceptionRecord,
  type FindingAggregate,
  type FindingCountRow,
  type FindingListRow,
  type FindingsQuery,
  type FindingStatusRow,
  type ReportClosedFindingRow,
  type ReportFindingRow,
  type ReportScope,
  type ReportSourceRow,
  type Repositories,
  type ResourceRow,
  type TokenEventRow,
  type TokenSummaryRow,
  type TokenMetricsRow,
} from './repositories.js'
import { loadQuery, loadSql, quoteIdentifier } from './sql.js'
import { clickhouseTriageHistory } from './triage-history.js'
import { storedEventOf, type TimelineRow } from './token-timeline.js'

/** Each named filter as its query parameter: '' (match everything) when absent. */
function filters<Q, K extends keyof Q>(q: Q, names: readonly K[]): Record<K, Q[K] | ''> {
  const out = {} as Record<K, Q[K] | ''>
  for (const name of names) out[name] = q[name] ?? ''
  return out
}

/** The values of a list filter: its list and its single value, if any. */
const values = (list: readonly string[] | undefined, one: string | undefined): string[] => [
  ...(list ?? []),
  ...(one === undefined ? [] : [one]),
]

/** A substring as an ILIKE pattern: `%`, `_` and `\\` matched as themselves. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

/** The parameters of findings-list.sql (and findings-count.sql) from a query. */
export function findingsListParams(q: FindingsQuery): Record<string, unknown> {
  const sort = q.sort ?? DEFAULT_FINDING_SORT
  const cursor = findingsCursor(q)
  return {
    ...filters(q, ['tenant', 'id', 'client', 'token']),
    rules: values(q.rules, q.rule),
    severities: values(q.severities, q.severity),
    statuses: values(q.statuses, q.status),
    resources: values(q.resources, q.resource),
    token_json: q.token !== undefined && q.tokenInEvidence ? JSON.stringify(q.token) : '',
    text: q.text ? containsPattern(q.text) : '',
    ...timeSpan(q),
    sort_field: sort.field,
    sort_sign: sort.descending ? -1 : 1,
    cursor_k1: cursor?.k1 ?? 0,
    cursor_k2: cursor?.k2 ?? 0,
    cursor_id: cursor?.id ?? '',
    limit: q.limit ?? 1,
  }
}

/**
 * Whether a findings query filters only on what every version of a finding holds alike: the
 * tenant, the id and the rule (finding_id hashes them with the dedup key). Severity (the highest
 * so far), the key columns not in the dedup key, the evidence and the times may change between
 * versions, so their filters need the latest version (FINAL).
 */
export function stableFilters(q: FindingsQuery): boolean {
  const none = (list?: readonly string[], one?: string) => (list?.length ?? 0) === 0 && !one
  return (
    none(q.severities, q.severity) &&
    none(q.statuses, q.status) &&
    none(q.resources, q.resource) &&
    !q.client &&
    !q.token &&
    !q.text &&
    q.since === undefined &&
    q.until === undefined
  )
}

/** The parameters of events-search.sql from a search. */
export function eventsSearchParams(q: EventSearch): Record<string, unknown> {
  return {
    ...filters(q, ['tenant', 'type', 'client', 'subject', 'resource', 'token', 'decision', 'tool']),
    ...timeSpan(q),
    cursor_at: q.after?.at ?? toDateTime64(OPEN_END),
    cursor_id: q.after?.id ?? '',
    fetch: q.fetch,
  }
}

const HOUR = 3_600_000
const DAY = 24 * HOUR
/** Rounds of report-sealed-conflicts.sql before a report reads every day from the rollup. */
const MAX_CONFLICT_ROUNDS = 4
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)
const hourUp = (ms: number) => Math.ceil(ms / HOUR) * HOUR
const hourDown = (ms: number) => Math.floor(ms / HOUR) * HOUR
/**
 * The whole hours [full_from, full_to) of [since, until), read from an hourly rollup; the rest
 * is read from report_event_facts. Without a whole hour, full_from >= full_to.
 */
const wholeHours = (since: number, until: number) => ({
  full_from: toDateTime64(hourUp(since)),
  full_to: toDateTime64(hourDown(until)),
})

const scopeParams = (s: ReportScope) => ({
  tenant: s.tenant,
  since: toDateTime64(s.since),
  until: toDateTime64(s.until),
})

/** ClickHouse returns 64-bit and some aggregate numbers as numbers or text: numbers here. */
function numbers<T extends object>(row: T, keys: readonly (keyof T)[]): T {
  const out = { ...row }
  for (const k of keys) out[k] = Number(row[k]) as T[typeof k]
  return out
}

export function clickhouseRepositories(ch: ClickHouseConnection): Repositories {
  const db = quoteIdentifier(ch.database)

  /** The rows of a named query; failures mapped under `what`. */
  async function rows<T>(
    name: string,
    params: Record<string, unknown>,
    what: string,
    fragments?: Record<string, string>,
  ): Promise<T[]> {
    try {
      const rs = await ch.client.query({
        query: loadQuery(name, ch.database, fragments),
        query_params: params,
        format: 'JSONEachRow',
      })
      return await rs.json<T>()
    } catch (err) {
      throw mapStorageError(err, what)
    }
  }

  async function insert(
    table: string,
    values: readonly object[],
    what: string,
    settings?: ClickHouseSettings,
  ): Promise<void> {
    try {
      await ch.insert(`${db}.${table}`, values, settings)
    } catch (err) {
      throw mapStorageError(err, what)
    }
  }

  const report = (name: string) => `compliance report (${name})`

  /**
   * The sealed days the token metrics may use (migration 0020, docs/design/report-performance.md,
   * "Sealed days"): the whole UTC days of the period whose latest seal matches the rollup
   * (report-sealed-days.sql), less those holding a token the query would group as well
   * (report-sealed-conflicts.sql: a late event of another day), asked again until none is left
   * (each round reads more days from the rollup). No sealed day (the job has not run): empty
   * arrays, every day read from the rollup.
   */
  async function sealedDays(
    scope: ReportScope,
    base: Record<string, unknown>,
  ): Promise<{ sealed_days: string[]; sealed_ids: bigint[] }> {
    const dayFrom = Math.ceil(scope.since / DAY) * DAY
    const dayTo = Math.floor(scope.until / DAY) * DAY
    const none = { sealed_days: [], sealed_ids: [] }
    if (dayFrom >= dayTo) return none
    let days = await rows<{ day: string; seal_id: string }>(
      'report-sealed-days',
      {
        tenant: scope.tenant,
        day_from: isoDay(dayFrom),
        day_to: isoDay(dayTo),
        clock_skew_s: base.clock_skew_s,
      },
      report('report-sealed-days'),
    )
    for (let round = 0; days.length > 0 && round < MAX_CONFLICT_ROUNDS; round++) {
      const sealed = {
        sealed_days: days.map((d) => d.day),
        sealed_ids: days.map((d) => BigInt(d.seal_id)),
      }
      const conflicts = await rows<{ day: string }>(
        'report-sealed-conflicts',
        { ...base, ...sealed },
        report('report-sealed-conflicts'),
      )
      if (conflicts.length === 0) return sealed
      const dirty = new Set(conflicts.map((c) => c.day))
      days = days.filter((d) => !dirty.has(d.day))
    }
    return none
  }

  return {
    triageHistory: clickhouseTriageHistory(ch),

    events: {
      byId: (tenant, eventId) => getEventRow(ch, tenant, eventId),
      search: (q) => rows<StoredEvent>('events-search', eventsSearchParams(q), 'search events'),
      ofToken: async (tenant, key) =>
        (await rows<TimelineRow>('token-events', { tenant, key }, 'token timeline')).map(
          storedEventOf,
        ),
      tokenPresentations: async (tenant, key, after, fetch) =>
        (
          await rows<TimelineRow>(
            'token-presentations',
            {
              tenant,
              key,
              cursor_at: after?.at ?? toDateTime64(0),
              cursor_id: after?.id ?? '',
              fetch,
            },
            'token timeline',
          )
        ).map(storedEventOf),
      async tokenSummary(tenant, key, limit) {
        const found = await rows<TokenSummaryRow>(
          'token-summary',
          { tenant, key, limit },
          'token timeline',
        )
        return found.map((r) => numbers(r, ['count']))
      },
      tokenLifecycle: async (tenant, key, limit) =>
        (await rows<TimelineRow>('token-lifecycle', { tenant, key, limit }, 'token timeline')).map(
          storedEventOf,
        ),
      async tokenTimelineEvents(tenant, key, after, fetch, limit) {
        const read = await rows<TimelineRow>(
          'token-timeline-events',
          {
            tenant,
            key,
            cursor_at: after?.at ?? toDateTime64(0),
            cursor_id: after?.id ?? '',
            fetch,
            limit,
          },
          'token timeline',
        )
        const found = read.map(storedEventOf)
        const presentation = (r: StoredEvent) =>
          r.token_key === key && r.event_type === 'token.presented'
        return {
          presented: found.filter(presentation),
          lifecycle: found.filter((r) => !presentation(r)),
        }
      },
      delegationChain: (tenant, key, bounds) =>
        walkDelegationChain(
          async (keys, limit) =>
            (
              await rows<DelegationLinkRow>(
                'delegation-links',
                { tenant, keys, limit },
                'delegation chain',
              )
            ).map(delegationLink),
          key,
          bounds,
        ),
      async existingIds(tenants, ids) {
        if (ids.length === 0) return []
        return rows('existing-event-ids', { tenants, ids }, 'look up stored event ids')
      },
      async storedIdCount() {
        const [counted] = await rows<{ rows: number | string }>(
          'stored-event-count',
          {},
          'count stored events',
        )
        return Number(counted?.rows ?? 0)
      },
      async storedIds(parts, part) {
        try {
          const rs = await ch.client.query({
            query: loadQuery('stored-event-ids', ch.database),
            query_params: { parts, part },
            format: 'JSONCompactEachRow',
          })
          return await rs.json<[string, string]>()
        } catch (err) {
          throw mapStorageError(err, 'load stored event ids')
        }
      },
      recentTokenEvents: (since, limit) => recentTokenEvents(ch, since, limit),
      insert: (values: readonly EventRow[], options) => insertEventRows(ch, values, options),
      insertRejected: (values: readonly RejectedRow[], dedupToken) =>
        insert('rejected_events', values, 'insert into rejected_events', {
          insert_deduplication_token: dedupToken,
        }),
      prepareInsert: (events, lines, options) => prepareEventsInsert(ch, events, lines, options),
      sendInsert: (prepared) => sendEventsInsert(ch, prepared),
      resendInsert: (prepared) => resendEventsInsert(ch, prepared),
      observeInserts: (observer) => observeEventInserts(ch.database, observer),
    },

    findings: {
      async list(q) {
        const found = await rows<FindingListRow & { sort_k1: unknown; sort_k2: unknown }>(
          'findings-list',
          findingsListParams(q),
          'list findings',
        )
        return found.map(({ sort_k1: _k1, sort_k2: _k2, ...r }) => numbers(r, ['count']))
      },
      async count(q, bound = FINDINGS_TOTAL_BOUND) {
        const params = findingsListParams(q)
        // Without a status filter the triage is not joined; with filters only on what no
        // version of a finding changes, distinct ids are counted without FINAL.
        const triaged = (params.statuses as string[]).length > 0
        const stable = stableFilters(q)
        const counted = async (exact: boolean, upTo: string | number) => {
          const [row] = await rows<{ n: number | string }>(
            triaged ? 'findings-count' : 'findings-count-untriaged',
            { ...params, bound: upTo },
            'count findings',
            {
              final: exact && !(stable && !triaged) ? 'FINAL' : '',
              distinct: exact && stable && !triaged ? 'DISTINCT' : '',
            },
          )
          return Number(row?.n ?? 0)
        }
        const exact = await counted(true, bound + 1)
        if (exact <= bound) return { value: exact, exact: true }
        if (triaged) return { value: await counted(false, '18446744073709551615'), exact: false }
        // The estimate as a plain count (the same number): no finding id read.
        const [row] = await rows<{ n: number | string }>(
          'findings-count-estimate',
          params,
          'count findings',
        )
        return { value: Number(row?.n ?? 0), exact: false }
      },
      async tokenHasFindings(tenant, token) {
        const found = await rows(
          'token-has-findings',
          { tenant, token, token_json: JSON.stringify(token) },
          'token findings',
        )
        return found.length > 0
      },
      async status(tenant, id) {
        const [row] = await rows<FindingStatusRow>(
          'finding-status',
          { tenant, id },
          'finding status',
        )
        return row && numbers(row, ['count'])
      },
      addOccurrences: (values) =>
        values.length === 0
          ? Promise.resolve()
          : insert('finding_occurrences', values, 'record findings'),
      async aggregates(ids) {
        if (ids.length === 0) return []
        const found = await rows<FindingAggregate>('finding-aggregates', { ids }, 'record findings')
        return found.map((a) => numbers(a, ['count', 'severity_rank']))
      },
      write: (values) => insert('findings', values, 'record findings'),
      triage: (row) => insert('finding_triage', [row], 'triage a finding'),
    },

    exceptions: {
      write: (row) =>
        insert('exceptions', [row], row.deleted ? 'delete exception' : 'create exception'),
      active: () => rows<ExceptionRecord>('active-exceptions', {}, 'read exceptions'),
      list: (tenant, id = '') =>
        rows<ExceptionListRow>('exceptions-list', { tenant, id }, 'list exceptions'),
    },

    outbox: {
      write: (values: readonly AlertRow[]) =>
        values.length === 0
          ? Promise.resolve()
          : insert('alert_outbox', values, 'write the alert outbox'),
      async due(limit) {
        const found = await rows<DueAlert>('pending-alerts', { limit }, 'read the alert outbox')
        return found.map((r) => numbers(r, ['attempts']))
      },
    },

    reports: {
      sources: (scope, lookbackFrom, limit) =>
        rows<ReportSourceRow>(
          'report-sources',
          {
            ...scopeParams(scope),
            ...wholeHours(scope.since, scope.until),
            lookback_from: toDateTime64(lookbackFrom),
            lookback_full_from: toDateTime64(hourUp(lookbackFrom)),
            lookback_full_to: toDateTime64(hourDown(scope.since)),
            limit,
          },
          report('report-sources'),
        ),
      sampleEvents: (scope, rules, perRule) =>
        rows<Record<string, unknown>>(
          'report-sample-events',
          { ...scopeParams(scope), rules: [...rules], per_rule: perRule },
          report('report-sample-events'),
        ),
      closedFindings: (scope, limit) =>
        rows<ReportClosedFindingRow>(
          'report-closed-findings',
          { ...scopeParams(scope), limit },
          report('report-closed-findings'),
        ),
      topFindings: (scope, perRule) =>
        rows<Record<string, unknown>>(
          'report-top-findings',
          { ...scopeParams(scope), per_rule: perRule },
          report('report-top-findings'),
        ),
      async tokenMetrics(scope, { clockSkewS, maxRepeated }) {
        // The counts and per-token figures, and the tokens holding a repeat, side by side; the
        // repeats' counts are taken away (read only when there are some to take: rare).
        const base = {
          ...scopeParams(scope),
          ...wholeHours(scope.since, scope.until),
          clock_skew_s: clockSkewS,
          max_repeated: maxRepeated,
        }
        const params = { ...base, ...(await sealedDays(scope, base)) }
        type Figures = Omit<TokenMetricsRow, 'tokens_with_repeats' | 'repeated_tokens'>
        type Repeats = Pick<TokenMetricsRow, 'tokens_with_repeats' | 'repeated_tokens'>
        const [[figures], [repeats]] = await Promise.all([
          rows<Figures>('report-token-metrics', params, report('report-token-metrics')),
          rows<Repeats>('report-token-repeats', params, report('report-token-repeats')),
        ])
        const row = { ...figures!, ...repeats! }
        const found = Number(row.tokens_with_repeats)
        // Beyond maxRepeated the caller counts the whole period again and ignores these counts.
        if (found === 0 || found > maxRepeated) return row
        const [theirs] = await rows<EvidenceCounts>(
          'report-token-counts',
          { ...params, tokens: row.repeated_tokens.map(BigInt) },
          report('report-token-counts'),
        )
        const counts = Object.fromEntries(
          EVIDENCE_COUNTS.map((c) => [c, Number(row[c]) - Number(theirs![c])]),
        ) as unknown as EvidenceCounts
        return { ...row, ...counts }
      },
      async drift(scope) {
        const [row] = await rows<DriftRow>(
          'report-drift',
          scopeParams(scope),
          report('report-drift'),
        )
        return row!
      },
      async eventCounts(scope, tokens) {
        const whole = tokens === 'all'
        const [row] = await rows<EvidenceCounts>(
          'report-event-metrics',
          { ...scopeParams(scope), whole_period: whole, tokens: whole ? [] : tokens },
          report('report-event-metrics'),
          whole
            ? { final: 'FINAL', one_per_event: '' }
            : { final: '', one_per_event: 'LIMIT 1 BY event_id' },
        )
        return row!
      },
      async findingCounts(scope) {
        const found = await rows<FindingCountRow>(
          'report-finding-counts',
          scopeParams(scope),
          report('report-finding-counts'),
        )
        return found.map((r) => numbers(r, ['findings', 'occurrences']))
      },
      async findings(scope, limit) {
        const found = await rows<ReportFindingRow>(
          'report-findings',
          { ...scopeParams(scope), limit },
          report('report-findings'),
        )
        return found.map((r) => numbers(r, ['count', 'period_occurrences']))
      },
    },

    catalog: {
      resources: (page: CatalogPage) =>
        rows<ResourceRow>('resource-inventory', catalogParams(page), 'resource-inventory'),
      clients: (page: CatalogPage) =>
        rows<ClientUsageRow>(
          'client-usage',
          { ...catalogParams(page), ...dayBlockParams(page.since) },
          'client-usage',
        ),
      async clientFindings(tenant, since, clients) {
        if (clients.length === 0) return []
        return rows<ClientFindingsRow>(
          'client-findings',
          { tenant, since: toDateTime64(since), clients },
          'client-findings',
        )
      },
    },

    detection: {
      async watermark(ruleId) {
        try {
          const rs = await ch.client.query({
            query: `SELECT watermark FROM ${db}.detector_watermarks FINAL WHERE rule_id = {rule:String}`,
            query_params: { rule: ruleId },
            format: 'JSONEachRow',
          })
          const row = (await rs.json<{ watermark: string }>())[0]
          return row ? Date.parse(`${row.watermark.replace(' ', 'T')}Z`) : undefined
        } catch (err) {
          throw mapStorageError(err, `${ruleId} watermark`)
        }
      },
      setWatermark: (ruleId, at) =>
        insert(
          'detector_watermarks',
          [{ rule_id: ruleId, watermark: toDateTime64(at), updated_at: toDateTime64(Date.now()) }],
          `${ruleId} watermark`,
        ),
      async runRule(sql, params, from, to) {
        try {
          const rs = await ch.client.query({
            query: loadSql('rules', sql, ch.database),
            query_params: { ...params, from, to },
            format: 'JSONEachRow',
          })
          return await rs.json<Record<string, unknown>>()
        } catch (err) {
          throw mapStorageError(err, sql)
        }
      },
    },

    async ping() {
      try {
        return (await ch.client.ping()).success
      } catch {
        return false
      }
    },
  }
}

const catalogParams = (p: CatalogPage) => ({
  tenant: p.tenant,
  since: toDateTime64(p.since),
  after: p.after ?? '',
  limit: p.limit,
})

/** recent-token-events.sql as a stream of batches (each row parsed once). */
async function* recentTokenEvents(
  ch: ClickHouseConnection,
  since: number,
  limit: number,
): AsyncGenerator<TokenEventRow[]> {
  let rs
  try {
    rs = await ch.client.query({
      query: loadQuery('recent-token-events', ch.database),
      query_params: { since: toDateTime64(since), limit },
      format: 'JSONEachRow',
    })
  } catch (err) {
    throw mapStorageError(err, 'read recent token events')
  }
  try {
    for await (const batch of rs.stream<TokenEventRow>()) yield batch.map((row) => row.json())
  } catch (err) {
    throw mapStorageError(err, 'read recent token events')
  }
}
