/**
 * Compliance: pick a framework and a period, the report shown inline (per framework, each control
 * with its status and reason, the metrics), downloads as JSON, CSV or HTML through the console
 * (the API answers them with the caller's credentials; the browser holds none).
 */
import type { FastifyReply } from 'fastify'
import { html, withQuery } from '../html.js'
import { callApi, expectOk, ApiProblem, type ConsoleContext } from '../context.js'
import type { PageResult } from '../index.js'
import { FRAMEWORK_IDS } from '../../frameworks/index.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any

const DATE = /^\d{4}-\d\d-\d\d$/
const first = (v: string | string[] | undefined) => [v ?? []].flat()[0]

function request(query: Record<string, string | string[]>) {
  const framework = first(query.framework)
  const since = first(query.since)
  const until = first(query.until)
  return {
    framework: framework && [...FRAMEWORK_IDS, 'all'].includes(framework) ? framework : undefined,
    since: since && DATE.test(since) ? since : undefined,
    until: until && DATE.test(until) ? until : undefined,
  }
}

export async function compliancePage(
  ctx: ConsoleContext,
  _params: Record<string, string>,
  query: Record<string, string | string[]>,
): Promise<PageResult> {
  const r = request(query)
  const today = new Date().toISOString().slice(0, 10)
  const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10)
  let report: Json
  let failure: string | undefined
  if (r.framework) {
    const answer = await callApi(ctx, 'GET', withQuery('/v1/reports/compliance', r))
    if (answer.status === 400) failure = answer.json?.message
    else report = expectOk(answer)
  }
  const download = (format: string) =>
    withQuery('/compliance/download', { ...r, format, tenant: ctx.tenant })
  const body = html`<h1>Compliance</h1>
    <form method="get" action="/compliance" class="filters" aria-label="Report">
      ${ctx.tenant ? html`<input type="hidden" name="tenant" value="${ctx.tenant}" />` : ''}
      <div class="field">
        <label for="c-framework">Framework</label
        ><select id="c-framework" name="framework">
          ${['all', ...FRAMEWORK_IDS].map(
            (id) =>
              html`<option value="${id}" ${r.framework === id ? html` selected` : ''}>
                ${id === 'all' ? 'all frameworks' : id}
              </option>`,
          )}
        </select>
      </div>
      <div class="field">
        <label for="c-since">From</label
        ><input type="date" id="c-since" name="since" value="${r.since ?? monthAgo}" />
      </div>
      <div class="field">
        <label for="c-until">To</label
        ><input type="date" id="c-until" name="until" value="${r.until ?? today}" />
      </div>
      <button type="submit">Show report</button>
    </form>
    ${failure ? html`<p class="problem" role="alert">${failure}</p>` : ''}
    ${
      report
        ? html`<p>
              Download: <a href="${download('json')}">JSON (with digest)</a> ·
              <a href="${download('csv')}">CSV</a> · <a href="${download('html')}">HTML</a>
            </p>
            <p class="muted">
              Tenant ${String(report.tenant)}, ${String(report.period?.since)} to
              ${String(report.period?.until)}, generated ${String(report.generated_at)}.
            </p>
            ${(Array.isArray(report.frameworks) ? report.frameworks : []).map((f: Json) => framework(f))}
            <h2>Metrics</h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">Metric</th>
                  <th scope="col" class="num">Value</th>
                  <th scope="col">Threshold</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                ${(Array.isArray(report.metrics) ? report.metrics : []).map(
                  (m: Json) =>
                    html`<tr>
                      <td>${String(m.title)}</td>
                      <td class="num">${m.value === null ? '–' : String(m.value)}</td>
                      <td>
                        ${m.threshold ? `${String(m.threshold.op)} ${String(m.threshold.value)}` : ''}
                      </td>
                      <td>${status(String(m.status))}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
        : r.framework
          ? ''
          : html`<p class="muted">Pick a framework and a period.</p>`
    }`
  return { title: 'Compliance', section: 'compliance', body, status: failure ? 400 : 200 }
}

function status(s: string) {
  return html`<span class="${s === 'pass' ? 'pass' : s === 'fail' ? 'fail' : 'muted'}"
    >${s.replace('_', ' ')}</span
  >`
}

function framework(f: Json) {
  const s = f.summary ?? {}
  return html`<section class="framework">
    <h2>${String(f.title)}</h2>
    <p>
      ${String(s.controls)} controls: <span class="pass">${String(s.pass)} pass</span>,
      <span class="fail">${String(s.fail)} fail</span>, ${String(s.no_evidence)} without evidence.
    </p>
    <table>
      <thead>
        <tr>
          <th scope="col">Control</th>
          <th scope="col">Title</th>
          <th scope="col">Status</th>
          <th scope="col">Why</th>
          <th scope="col" class="num">Findings</th>
        </tr>
      </thead>
      <tbody>
        ${(Array.isArray(f.controls) ? f.controls : []).map(
          (c: Json) =>
            html`<tr>
              <td class="mono">${String(c.id)}</td>
              <td>${String(c.title)}</td>
              <td>${status(String(c.status))}</td>
              <td>${String(c.reason)}</td>
              <td class="num">${String(c.finding_count ?? '')}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </section>`
}

/** The report as a file: the API's bytes and headers (Content-Disposition), passed through. */
export async function complianceDownload(
  ctx: ConsoleContext,
  query: Record<string, string>,
): Promise<FastifyReply> {
  const r = request(query)
  const format = ['json', 'csv', 'html'].includes(query.format ?? '') ? query.format! : 'json'
  if (!r.framework) throw new ApiProblem(400, 'framework: pick one')
  const answer = await callApi(
    ctx,
    'GET',
    withQuery('/v1/reports/compliance', { ...r, format, download: '1' }),
  )
  expectOk(answer)
  const pass = (name: string) => {
    const value = answer.headers[name]
    if (typeof value === 'string') ctx.reply.header(name, value)
  }
  pass('content-type')
  pass('content-disposition')
  // The HTML report keeps its own policy (inline styles only, no script).
  pass('content-security-policy')
  return ctx.reply.header('cache-control', 'no-store').send(answer.body)
}
