/**
 * The findings queue at `/`: filters, sort, totals and paging. The filter state is the page's URL
 * query under the API list query's own names (severity, rule, status, client, resource, since,
 * until, q, sort, cursor, limit; lists comma-separated), so a view can be bookmarked and shared
 * and maps one to one onto `GET /v1/findings`.
 */
import { html, withQuery } from '../html.js'
import { severityBadge, when } from '../layout.js'
import { ApiProblem, callApi, expectOk, holds, type ConsoleContext } from '../context.js'
import type { PageResult } from '../index.js'

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const
export const STATUSES = ['open', 'acknowledged', 'resolved', 'false_positive'] as const
export const SORTS: [string, string][] = [
  ['-last_seen', 'Last seen, newest first'],
  ['last_seen', 'Last seen, oldest first'],
  ['-first_seen', 'First seen, newest first'],
  ['first_seen', 'First seen, oldest first'],
  ['-severity', 'Severity, highest first'],
  ['severity', 'Severity, lowest first'],
  ['-count', 'Count, most first'],
  ['count', 'Count, fewest first'],
]
const LIST_PARAMS = ['severity', 'rule', 'status'] as const
const TEXT_PARAMS = [
  'client',
  'resource',
  'since',
  'until',
  'q',
  'sort',
  'cursor',
  'limit',
] as const

export type Filters = Partial<
  Record<(typeof LIST_PARAMS)[number] | (typeof TEXT_PARAMS)[number], string>
>

/** The filters of a console URL query: repeated list values joined with commas, blanks dropped. */
export function filtersOf(query: Record<string, string | string[]>): Filters {
  const out: Filters = {}
  for (const name of LIST_PARAMS) {
    const values = [query[name] ?? []]
      .flat()
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter((v) => v !== '')
    if (values.length > 0) out[name] = [...new Set(values)].join(',')
  }
  for (const name of TEXT_PARAMS) {
    const value = [query[name] ?? []].flat()[0]?.trim()
    if (value) out[name] = value
  }
  if (out.sort === '-last_seen') delete out.sort
  return out
}

/** A plain date as the API's RFC 3339 instant: the start of `since`'s day, the end of `until`'s. */
function instant(value: string | undefined, end: boolean): string | undefined {
  if (value === undefined || !/^\d{4}-\d\d-\d\d$/.test(value)) return value
  return end ? `${value}T23:59:59.999Z` : `${value}T00:00:00.000Z`
}

/** The API list query of the console filters. */
export function apiQuery(filters: Filters): Record<string, string | undefined> {
  return {
    ...filters,
    since: instant(filters.since, false),
    until: instant(filters.until, true),
    limit: filters.limit ?? '50',
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any

export async function queuePage(
  ctx: ConsoleContext,
  _params: Record<string, string>,
  query: Record<string, string | string[]>,
  _form: Record<string, string> = {},
  notice?: string,
): Promise<PageResult> {
  const filters = filtersOf(query)
  const [listed, rules] = await Promise.all([
    callApi(ctx, 'GET', withQuery('/v1/findings', apiQuery(filters))),
    callApi(ctx, 'GET', '/v1/rules'),
  ])
  let list: Json
  let failure: string | undefined
  let status = 200
  try {
    list = expectOk(listed)
  } catch (err) {
    if (!(err instanceof ApiProblem) || err.status !== 400) throw err
    failure = err.message
    status = 400
  }
  const ruleIds: string[] = Array.isArray(rules.json?.items)
    ? rules.json.items.map((r: Json) => String(r.id))
    : []
  const items: Json[] = Array.isArray(list?.items) ? list.items : []
  const total = list?.total as { value?: number; exact?: boolean } | undefined
  const keep = (extra: Filters) =>
    withQuery('/', { ...filters, ...extra, ...(ctx.tenant ? { tenant: ctx.tenant } : {}) })
  const selected = (name: keyof Filters, value: string) =>
    (filters[name] ?? '').split(',').includes(value)

  const body = html`<h1>Findings</h1>
    <form
      class="filters"
      method="get"
      action="/"
      role="search"
      aria-label="Filter findings"
      hx-get="/"
      hx-target="#results"
      hx-select="#results"
      hx-swap="outerHTML"
      hx-push-url="true"
    >
      ${ctx.tenant ? html`<input type="hidden" name="tenant" value="${ctx.tenant}" />` : ''}
      <fieldset>
        <legend>Severity</legend>
        ${SEVERITIES.map(
          (s) =>
            html`<label
              ><input
                type="checkbox"
                name="severity"
                value="${s}"
                ${selected('severity', s) ? html` checked` : ''}
              />
              ${s}</label
            >`,
        )}
      </fieldset>
      <fieldset>
        <legend>Status</legend>
        ${STATUSES.map(
          (s) =>
            html`<label
              ><input
                type="checkbox"
                name="status"
                value="${s}"
                ${selected('status', s) ? html` checked` : ''}
              />
              ${s.replace('_', ' ')}</label
            >`,
        )}
      </fieldset>
      <div class="field">
        <label for="f-rule">Rule</label
        ><select id="f-rule" name="rule">
          <option value="">any rule</option>
          ${ruleIds.map(
            (id) =>
              html`<option value="${id}" ${filters.rule === id ? html` selected` : ''}>
                ${id}
              </option>`,
          )}
        </select>
      </div>
      <div class="field">
        <label for="f-client">Client</label
        ><input type="text" id="f-client" name="client" value="${filters.client ?? ''}" size="16" />
      </div>
      <div class="field">
        <label for="f-resource">Resource</label
        ><input
          type="text"
          id="f-resource"
          name="resource"
          value="${filters.resource ?? ''}"
          size="24"
        />
      </div>
      <div class="field">
        <label for="f-since">Since</label
        ><input type="date" id="f-since" name="since" value="${filters.since ?? ''}" />
      </div>
      <div class="field">
        <label for="f-until">Until</label
        ><input type="date" id="f-until" name="until" value="${filters.until ?? ''}" />
      </div>
      <div class="field">
        <label for="f-q">Text</label
        ><input type="search" id="f-q" name="q" value="${filters.q ?? ''}" size="16" />
      </div>
      <div class="field">
        <label for="f-sort">Sort</label
        ><select id="f-sort" name="sort">
          ${SORTS.map(
            ([value, label]) =>
              html`<option
                value="${value}"
                ${(filters.sort ?? '-last_seen') === value ? html` selected` : ''}
              >
                ${label}
              </option>`,
          )}
        </select>
      </div>
      <button type="submit">Apply</button>
      <a href="${ctx.tenant ? withQuery('/', { tenant: ctx.tenant }) : '/'}">Clear</a>
    </form>
    <section id="results" aria-live="polite" aria-label="Results">
      ${failure ? html`<p class="problem" role="alert">The API refused these filters: ${failure}</p>` : ''}
      <p class="muted" id="totals">
        ${
          total && typeof total.value === 'number'
            ? html`<strong>${total.exact === false ? 'about ' : ''}${total.value}</strong> findings
                match${filters.cursor ? ' (this page continues a list)' : ''}.`
            : html`${items.length} findings on this page.`
        }
      </p>
      ${
        items.length === 0
          ? html`<p>No finding matches these filters.</p>`
          : html`<table>
              <thead>
                <tr>
                  <th scope="col">Severity</th>
                  <th scope="col">Finding</th>
                  <th scope="col">Client</th>
                  <th scope="col">Resource</th>
                  <th scope="col" class="num">Count</th>
                  <th scope="col">Last seen</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                ${items.map((f) => row(f))}
              </tbody>
            </table>`
      }
      <nav class="pager" aria-label="Pages">
        ${filters.cursor ? html`<a href="${keep({ cursor: undefined })}">First page</a>` : ''}${
          list?.next_cursor
            ? html`<a href="${keep({ cursor: String(list.next_cursor) })}" rel="next">Next page</a>`
            : ''
        }
      </nav>
    </section>
    ${bulkForm(ctx, filters, notice)}`
  return { title: 'Findings', section: 'queue', body, status }
}

/** The filters a bulk triage applies to: the list's, without paging and order. */
function bulkFilter(filters: Filters): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(apiQuery(filters)))
    if (v !== undefined && !['cursor', 'limit', 'sort'].includes(k)) out[k] = v
  return out
}

/** Analysts: set status (and a note) on every finding the filters match, with a dry-run count. */
function bulkForm(ctx: ConsoleContext, filters: Filters, notice: string | undefined) {
  if (!holds(ctx.caller, 'analyst')) return ''
  return html`<section id="bulk" aria-labelledby="h-bulk">
    <h2 id="h-bulk">Triage every matching finding</h2>
    ${notice ? html`<p class="notice" role="status" id="bulk-result">${notice}</p>` : ''}
    <form
      method="post"
      action="${withQuery('/bulk-triage', { ...filters, cursor: undefined, tenant: ctx.tenant })}"
      class="filters"
    >
      <input type="hidden" name="_csrf" value="${ctx.session.csrf}" />
      <div class="field">
        <label for="b-status">Status</label>
        <select id="b-status" name="status">
          ${STATUSES.map((st) => html`<option value="${st}">${st.replace('_', ' ')}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="b-note">Note</label
        ><input type="text" id="b-note" name="note" size="32" maxlength="4000" />
      </div>
      <button type="submit" name="dry_run" value="1" class="secondary">Count them</button>
      <button type="submit" name="dry_run" value="0">Apply to all of them</button>
    </form>
  </section>`
}

/**
 * POST /bulk-triage?<filters>: `POST /v1/findings/triage` (contract) with the queue's filters as
 * the caller; the queue again with the API's counts, or a notice when the API has no bulk triage.
 */
export async function bulkTriage(
  ctx: ConsoleContext,
  params: Record<string, string>,
  query: Record<string, string | string[]>,
  form: Record<string, string>,
): Promise<PageResult> {
  const filters = filtersOf(query)
  const set: Record<string, string> = {}
  if (form.status && (STATUSES as readonly string[]).includes(form.status)) set.status = form.status
  if (form.note) set.note = form.note
  const dryRun = form.dry_run !== '0'
  const answer = await callApi(ctx, 'POST', '/v1/findings/triage', {
    filter: bulkFilter(filters),
    set,
    dry_run: dryRun,
  })
  let notice: string
  if (answer.status === 404 || answer.status === 405)
    notice = 'This API has no bulk triage (POST /v1/findings/triage); triage findings one by one.'
  else if (answer.status === 400) notice = `The API refused: ${String(answer.json?.message ?? '')}`
  else {
    const counts = expectOk(answer) as { matched?: number; updated?: number }
    notice = dryRun
      ? `${String(counts.matched)} findings match; nothing was changed.`
      : `${String(counts.updated)} of ${String(counts.matched)} matching findings set to ${set.status ?? 'their status'}.`
  }
  return queuePage(ctx, params, query, form, notice)
}

function row(f: Json) {
  const keys = (f.keys ?? {}) as Record<string, string>
  const href = consoleLink(f)
  return html`<tr>
    <td>${severityBadge(String(f.severity))}</td>
    <td>
      <a href="${href}">${String(f.title ?? f.rule_id)}</a><br /><span class="muted mono"
        >${String(f.rule_id)}</span
      >
    </td>
    <td>
      ${keys.client_id ? html`<a href="/clients/${encodeURIComponent(keys.client_id)}">${keys.client_id}</a>` : html`<span class="muted">–</span>`}
    </td>
    <td class="mono">${keys.resource ?? ''}</td>
    <td class="num">${String(f.count ?? '')}</td>
    <td>${when(f.last_seen)}</td>
    <td>${String(f.status ?? '')}</td>
  </tr>`
}

/** The finding's console page: `links.console` (contract) when the API gives it, else its id. */
export function consoleLink(f: Json): string {
  const link = f?.links?.console
  if (typeof link === 'string') {
    try {
      const path = new URL(link, 'http://console.invalid').pathname
      if (/^\/findings\/[0-9a-f]{32}$/.test(path)) return path
    } catch {
      // fall through
    }
  }
  return `/findings/${encodeURIComponent(String(f?.id ?? ''))}`
}
