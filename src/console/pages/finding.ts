/**
 * One finding: what happened in a sentence, its evidence events, the token's timeline drawn, the
 * rule's rationale, runbook, false-positive notes and framework mappings, triage with its history
 * (analysts), and an exception prefilled from the finding's dedup keys (admins).
 */
import { html, type Fragment, type Html } from '../html.js'
import { severityBadge, when } from '../layout.js'
import { ApiProblem, callApi, expectOk, holds, type ConsoleContext } from '../context.js'
import type { PageResult } from '../index.js'
import { STATUSES } from './queue.js'
import { timeline, type TimelineEvent } from './timeline.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any

const ID = /^[0-9a-f]{32}$/

/** "critical: Token replayed at ... — token t-1 of client c at https://b, 5 times, first ... last ...". */
export function summarySentence(f: Json): string {
  const keys = (f.keys ?? {}) as Record<string, string>
  const parts: string[] = []
  if (keys.token_key) parts.push(`token ${keys.token_key}`)
  if (keys.client_id) parts.push(`${parts.length ? 'of ' : ''}client ${keys.client_id}`)
  if (keys.resource) parts.push(`at ${keys.resource}`)
  for (const [k, v] of Object.entries(keys))
    if (!['token_key', 'client_id', 'resource'].includes(k))
      parts.push(`${k.replace(/_/g, ' ')} ${v}`)
  const times = Number(f.count) === 1 ? 'once' : `${String(f.count)} times`
  return `${String(f.title)}${parts.length ? `: ${parts.join(' ')}` : ''}, ${times} between ${String(f.first_seen)} and ${String(f.last_seen)}.`
}

/** The token key a finding names (contract `links.token`, else its dedup key). */
function tokenPath(f: Json): string | undefined {
  const link = f?.links?.token
  if (typeof link === 'string') {
    try {
      const path = new URL(link, 'http://console.invalid').pathname
      if (path.startsWith('/v1/tokens/')) return path
    } catch {
      // fall through
    }
  }
  const key = f?.keys?.token_key
  return typeof key === 'string' && key !== '' ? `/v1/tokens/${encodeURIComponent(key)}` : undefined
}

/** Events of a token timeline answer, in time order. */
export function timelineEvents(t: Json): TimelineEvent[] {
  const of = (items: Json, kind: string) =>
    (Array.isArray(items) ? items : []).map((e: Json): TimelineEvent => ({
      id: String(e?.event?.event_id ?? ''),
      at: String(e?.event?.occurred_at ?? ''),
      type: String(e?.event?.event_type ?? kind),
      resource: String(e?.resource_canonical ?? e?.event?.resource ?? ''),
      decision: e?.event?.decision ? String(e.event.decision) : undefined,
      reason: e?.event?.reason ? String(e.event.reason) : undefined,
      client: e?.event?.client_id ? String(e.event.client_id) : undefined,
      audience: Array.isArray(e?.event?.granted_aud)
        ? e.event.granted_aud.map(String)
        : Array.isArray(e?.event?.token?.aud)
          ? e.event.token.aud.map(String)
          : undefined,
    }))
  return [
    ...of(t?.issuance, 'token.issued'),
    ...of(t?.presentations, 'token.presented'),
    ...of(t?.exchanged_into, 'token.exchanged'),
  ].sort((a, b) => Date.parse(a.at) - Date.parse(b.at))
}

export async function findingPage(
  ctx: ConsoleContext,
  params: Record<string, string>,
  query: Record<string, string | string[]>,
  _form: Record<string, string> = {},
  notice?: { problem?: string; status?: number },
): Promise<PageResult> {
  const id = params.id ?? ''
  if (!ID.test(id)) throw new ApiProblem(404, 'no such finding')
  const f = expectOk(await callApi(ctx, 'GET', `/v1/findings/${id}`))
  const token = tokenPath(f)
  const [ruleAnswer, tokenAnswer] = await Promise.all([
    callApi(ctx, 'GET', `/v1/rules/${encodeURIComponent(String(f.rule_id))}`),
    token ? callApi(ctx, 'GET', token) : undefined,
  ])
  const rule = ruleAnswer.status === 200 ? ruleAnswer.json : undefined
  const tokenTimeline = tokenAnswer?.status === 200 ? tokenAnswer.json : undefined
  const events = tokenTimeline ? timelineEvents(tokenTimeline) : []
  const evidence = (f.evidence ?? {}) as Record<string, unknown>
  // What the finding counts, and the context its evidence names (a replay's legitimate uses).
  const context = Array.isArray(evidence.presentations) ? evidence.presentations : []
  const evidenceIds = new Set(
    [
      evidence.event_ids,
      ...context.map((p) => (p as { event_ids?: unknown } | null)?.event_ids),
    ].flatMap((ids) => (Array.isArray(ids) ? ids.map(String) : [])),
  )
  const done = [query.done].flat()[0]
  const keys = (f.keys ?? {}) as Record<string, string>

  const body = html`<p><a href="/">← Findings</a></p>
    <h1>${severityBadge(String(f.severity))} ${String(f.title)}</h1>
    <p class="summary" id="summary">${summarySentence(f)}</p>
    ${done === 'triaged' ? html`<p class="notice" role="status">Triage saved.</p>` : ''}
    ${done === 'exception' ? html`<p class="notice" role="status">Exception added.</p>` : ''}
    ${notice?.problem ? html`<p class="problem" role="alert">${notice.problem}</p>` : ''}
    ${f.exception ? html`<p class="notice">Covered by exception <code>${String(f.exception.id)}</code>: ${String(f.exception.reason ?? '')}</p>` : ''}
    <div class="grid">
      <section aria-labelledby="h-facts">
        <h2 id="h-facts">Facts</h2>
        <dl class="kv">
          <dt>Rule</dt>
          <dd>
            <a href="/rules/${encodeURIComponent(String(f.rule_id))}">${String(f.rule_id)}</a>
          </dd>
          <dt>Severity</dt>
          <dd>${String(f.severity)}</dd>
          <dt>Status</dt>
          <dd id="status">${String(f.status)}</dd>
          <dt>Count</dt>
          <dd>${String(f.count)}</dd>
          <dt>First seen</dt>
          <dd>${when(f.first_seen)}</dd>
          <dt>Last seen</dt>
          <dd>${when(f.last_seen)}</dd>
          ${Object.entries(keys).map(
            ([k, v]) =>
              html`<dt>${k}</dt>
                <dd class="mono">${keyLink(k, v)}</dd>`,
          )}
        </dl>
      </section>
      ${triageSection(ctx, f)}
    </div>
    <section aria-labelledby="h-timeline">
      <h2 id="h-timeline">Token timeline</h2>
      ${
        events.length > 0
          ? timeline(events, evidenceIds, keys.resource)
          : html`<p class="muted">
              ${token ? 'No events of this token are stored.' : 'This finding names no token.'}
            </p>`
      }
      ${tokenTimeline?.truncated === true ? html`<p class="notice">The timeline was cut to the API's cap.</p>` : ''}
      ${keys.token_key ? html`<p><a href="/tokens/${encodeURIComponent(keys.token_key)}">Open the token page</a></p>` : ''}
    </section>
    <section aria-labelledby="h-evidence">
      <h2 id="h-evidence">Evidence</h2>
      ${evidenceEvents(events, evidenceIds)}
      <details>
        <summary>The rule's evidence, as stored</summary>
        <pre>${JSON.stringify(evidence, null, 2)}</pre>
      </details>
    </section>
    ${ruleSection(rule, f)} ${exceptionSection(ctx, f)}`
  return { title: String(f.title), section: 'queue', body, status: notice?.status }
}

function keyLink(key: string, value: string): Fragment {
  if (key === 'token_key') return html`<a href="/tokens/${encodeURIComponent(value)}">${value}</a>`
  if (key === 'client_id') return html`<a href="/clients/${encodeURIComponent(value)}">${value}</a>`
  return value
}

function evidenceEvents(events: TimelineEvent[], ids: Set<string>): Html {
  const shown = events.filter((e) => ids.has(e.id))
  if (ids.size === 0) return html`<p class="muted">The rule names no events.</p>`
  return html`<table id="evidence-events">
    <caption class="muted">
      ${ids.size} evidence
      events${shown.length < ids.size ? `, ${shown.length} of them in the token's timeline` : ''}
    </caption>
    <thead>
      <tr>
        <th scope="col">When</th>
        <th scope="col">Event</th>
        <th scope="col">Resource</th>
        <th scope="col">Decision</th>
        <th scope="col">Event id</th>
      </tr>
    </thead>
    <tbody>
      ${shown.map(
        (e) =>
          html`<tr>
            <td>${when(e.at)}</td>
            <td>${e.type}</td>
            <td class="mono">${e.resource}</td>
            <td>${e.decision ?? ''}${e.reason && e.reason !== 'ok' ? ` (${e.reason})` : ''}</td>
            <td class="mono">${e.id}</td>
          </tr>`,
      )}${[...ids]
        .filter((id) => !shown.some((e) => e.id === id))
        .map(
          (id) =>
            html`<tr>
              <td colspan="4" class="muted">not in the token's timeline</td>
              <td class="mono">${id}</td>
            </tr>`,
        )}
    </tbody>
  </table>`
}

function triageSection(ctx: ConsoleContext, f: Json): Html {
  const history: Json[] = Array.isArray(f.history) ? f.history : []
  const analyst = holds(ctx.caller, 'analyst')
  return html`<section id="triage" class="triage" aria-labelledby="h-triage">
    <h2 id="h-triage">Triage</h2>
    <dl class="kv">
      <dt>Assignee</dt>
      <dd id="assignee">${f.assignee || html`<span class="muted">unassigned</span>`}</dd>
      <dt>Note</dt>
      <dd id="note">${f.note || html`<span class="muted">none</span>`}</dd>
      ${
        f.updated_by
          ? html`<dt>Updated</dt>
              <dd>${String(f.updated_by)}, ${when(f.updated_at)}</dd>`
          : ''
      }
    </dl>
    ${
      analyst
        ? html`<form
            method="post"
            action="/findings/${String(f.id)}/triage"
            class="stack"
            id="triage-form"
            hx-post="/findings/${String(f.id)}/triage"
            hx-target="#triage"
            hx-select="#triage"
            hx-swap="outerHTML"
          >
            <input type="hidden" name="_csrf" value="${ctx.session.csrf}" />
            <div class="field">
              <label for="t-status">Status</label
              ><select id="t-status" name="status">
                ${STATUSES.map(
                  (s) =>
                    html`<option value="${s}" ${f.status === s ? html` selected` : ''}>
                      ${s.replace('_', ' ')}
                    </option>`,
                )}
              </select>
            </div>
            <div class="field">
              <label for="t-assignee">Assignee</label
              ><input
                type="text"
                id="t-assignee"
                name="assignee"
                value="${String(f.assignee ?? '')}"
                maxlength="256"
              />
            </div>
            <div class="field">
              <label for="t-note">Note</label
              ><textarea id="t-note" name="note" maxlength="4000">${String(f.note ?? '')}</textarea>
            </div>
            <div><button type="submit">Save triage</button></div>
          </form>`
        : html`<p class="muted">Triage needs the analyst role.</p>`
    }
    <h3>History</h3>
    ${
      history.length > 0
        ? html`<table id="history">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Field</th>
                <th scope="col">From</th>
                <th scope="col">To</th>
              </tr>
            </thead>
            <tbody>
              ${history.map(
                (h) =>
                  html`<tr>
                    <td>${when(h.at)}</td>
                    <td>${String(h.by ?? '')}</td>
                    <td>${String(h.field ?? '')}</td>
                    <td>${String(h.from ?? '')}</td>
                    <td>${String(h.to ?? '')}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
        : html`<p class="muted" id="history-empty">
            ${'history' in f ? 'No change yet.' : 'This API does not report triage history.'}
          </p>`
    }
  </section>`
}

function ruleSection(rule: Json, f: Json): Html {
  if (!rule)
    return html`<section>
      <h2>Rule</h2>
      <p class="muted">The rule ${String(f.rule_id)} is not in the catalog.</p>
    </section>`
  const mappings = (f.mappings ?? rule.mappings ?? {}) as Record<string, unknown>
  const list = (items: unknown) =>
    Array.isArray(items) && items.length > 0
      ? html`<ul>
          ${items.map((i) => html`<li>${String(i)}</li>`)}
        </ul>`
      : html`<p class="muted">none</p>`
  return html`<section aria-labelledby="h-rule">
    <h2 id="h-rule">Rule: ${String(rule.title)}</h2>
    <p>${String(rule.description ?? '')}</p>
    <div class="grid">
      <div>
        <h3>Why it matters</h3>
        <p>${String(rule.rationale ?? '')}</p>
      </div>
      <div>
        <h3>Runbook</h3>
        ${
          Array.isArray(rule.runbook)
            ? html`<ol>
                ${rule.runbook.map((s: unknown) => html`<li>${String(s)}</li>`)}
              </ol>`
            : list([])
        }
      </div>
      <div>
        <h3>False positives</h3>
        ${list(rule.false_positives)}
      </div>
      <div>
        <h3>Framework mappings</h3>
        <dl class="kv">
          ${Object.entries(mappings).map(
            ([k, v]) =>
              html`<dt>${k}</dt>
                <dd>${[v].flat().map(String).join(', ')}</dd>`,
          )}
        </dl>
      </div>
    </div>
  </section>`
}

const DAY_MS = 86_400_000

function exceptionSection(ctx: ConsoleContext, f: Json): Fragment {
  if (!holds(ctx.caller, 'admin')) return ''
  const keys = Object.entries((f.keys ?? {}) as Record<string, string>)
  const expires = new Date(Date.now() + 30 * DAY_MS).toISOString().slice(0, 10)
  return html`<section aria-labelledby="h-exception">
    <h2 id="h-exception">Add an exception</h2>
    <p class="muted">
      Future findings of <code>${String(f.rule_id)}</code> with these key values are suppressed
      until the exception expires.
    </p>
    <form
      method="post"
      action="/findings/${String(f.id)}/exception"
      class="stack"
      id="exception-form"
    >
      <input type="hidden" name="_csrf" value="${ctx.session.csrf}" />
      <fieldset>
        <legend>Match (the finding's dedup keys)</legend>
        ${keys.map(
          ([k, v], i) =>
            html`<div>
              <input type="checkbox" id="x-use-${i}" name="use_${k}" value="1" checked />
              <label for="x-use-${i}"><code>${k}</code> = <span class="mono">${v}</span></label>
            </div>`,
        )}
      </fieldset>
      <div class="field">
        <label for="x-owner">Owner</label
        ><input
          type="text"
          id="x-owner"
          name="owner"
          value="${ctx.caller.subject}"
          required
          maxlength="256"
        />
      </div>
      <div class="field">
        <label for="x-reason">Reason</label
        ><textarea id="x-reason" name="reason" required maxlength="2000"></textarea>
      </div>
      <div class="field">
        <label for="x-expires">Expires</label
        ><input type="date" id="x-expires" name="expires" value="${expires}" required />
      </div>
      <div><button type="submit">Add exception</button></div>
    </form>
  </section>`
}

/** POST /findings/:id/triage: the changed fields, as the caller, then back to the finding. */
export async function triageFinding(
  ctx: ConsoleContext,
  params: Record<string, string>,
  query: Record<string, string | string[]>,
  form: Record<string, string>,
): Promise<PageResult | void> {
  const id = params.id ?? ''
  if (!ID.test(id)) throw new ApiProblem(404, 'no such finding')
  const current = expectOk(await callApi(ctx, 'GET', `/v1/findings/${id}`))
  const change: Record<string, string> = {}
  for (const field of ['status', 'assignee', 'note'] as const)
    if (typeof form[field] === 'string' && form[field] !== String(current[field] ?? ''))
      change[field] = form[field]
  if (Object.keys(change).length > 0) {
    const answer = await callApi(ctx, 'PATCH', `/v1/findings/${id}`, change)
    if (answer.status === 400)
      return findingPage(ctx, params, query, form, { problem: answer.json?.message, status: 400 })
    expectOk(answer)
  }
  ctx.reply.redirect(`/findings/${id}?done=triaged`, 303)
}

/** POST /findings/:id/exception: an exception of the finding's rule on the checked keys. */
export async function addException(
  ctx: ConsoleContext,
  params: Record<string, string>,
  query: Record<string, string | string[]>,
  form: Record<string, string>,
): Promise<PageResult | void> {
  const id = params.id ?? ''
  if (!ID.test(id)) throw new ApiProblem(404, 'no such finding')
  const f = expectOk(await callApi(ctx, 'GET', `/v1/findings/${id}`))
  const match: Record<string, string> = {}
  for (const [k, v] of Object.entries((f.keys ?? {}) as Record<string, string>))
    if (form[`use_${k}`] === '1') match[k] = v
  const expires = /^\d{4}-\d\d-\d\d$/.test(form.expires ?? '')
    ? `${form.expires}T23:59:59.000Z`
    : String(form.expires ?? '')
  const answer = await callApi(ctx, 'POST', '/v1/exceptions', {
    rule_id: f.rule_id,
    match,
    owner: form.owner ?? '',
    reason: form.reason ?? '',
    expires_at: expires,
  })
  if (answer.status === 400)
    return findingPage(ctx, params, query, form, { problem: answer.json?.message, status: 400 })
  expectOk(answer)
  ctx.reply.redirect(`/findings/${id}?done=exception`, 303)
}
