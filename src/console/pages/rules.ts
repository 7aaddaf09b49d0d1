/** The rule catalog, and one rule; admins also see the parameters in force. */
import { html } from '../html.js'
import { severityBadge } from '../layout.js'
import { ApiProblem, callApi, expectOk, holds, type ConsoleContext } from '../context.js'
import type { PageResult } from '../index.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any

export async function rulesPage(ctx: ConsoleContext): Promise<PageResult> {
  const items: Json[] = expectOk(await callApi(ctx, 'GET', '/v1/rules')).items ?? []
  const body = html`<h1>Rules</h1>
    <table>
      <thead>
        <tr>
          <th scope="col">Rule</th>
          <th scope="col">Severity</th>
          <th scope="col">Kind</th>
          <th scope="col">What it finds</th>
        </tr>
      </thead>
      <tbody>
        ${items.map(
          (r) =>
            html`<tr>
              <td><a href="/rules/${encodeURIComponent(String(r.id))}">${String(r.id)}</a></td>
              <td>${severityBadge(String(r.severity))}</td>
              <td>${String(r.kind)}</td>
              <td>${String(r.title)}</td>
            </tr>`,
        )}
      </tbody>
    </table>`
  return { title: 'Rules', section: 'rules', body }
}

export async function rulePage(
  ctx: ConsoleContext,
  params: Record<string, string>,
): Promise<PageResult> {
  const id = params.id ?? ''
  if (!/^[a-z0-9-]{1,64}$/.test(id)) throw new ApiProblem(404, 'no such rule')
  const r = expectOk(await callApi(ctx, 'GET', `/v1/rules/${id}`))
  const list = (items: unknown) =>
    html`<ul>
      ${(Array.isArray(items) ? items : []).map((i) => html`<li>${String(i)}</li>`)}
    </ul>`
  const body = html`<p><a href="/rules">← Rules</a></p>
    <h1>${severityBadge(String(r.severity))} ${String(r.title)}</h1>
    <p class="mono">
      ${String(r.id)} · ${String(r.kind)} rule · dedup on ${[r.dedup_key ?? []].flat().join(', ')}
      within ${String(r.dedup_window_s)} s
    </p>
    <p>${String(r.description)}</p>
    <h2>Why it matters</h2>
    <p>${String(r.rationale)}</p>
    <h2>Runbook</h2>
    <ol>
      ${(Array.isArray(r.runbook) ? r.runbook : []).map((s: unknown) => html`<li>${String(s)}</li>`)}
    </ol>
    <h2>False positives</h2>
    ${list(r.false_positives)}
    <h2>Framework mappings</h2>
    <dl class="kv">
      ${Object.entries((r.mappings ?? {}) as Record<string, unknown>).map(
        ([k, v]) =>
          html`<dt>${k}</dt>
            <dd>${[v].flat().map(String).join(', ')}</dd>`,
      )}
    </dl>
    <h2>References</h2>
    ${list(r.references)}
    ${
      holds(ctx.caller, 'admin')
        ? html`<h2>Parameters in force</h2>
            <pre id="parameters">${JSON.stringify(r.parameters ?? {}, null, 2)}</pre>`
        : ''
    }
    <p><a href="/?rule=${encodeURIComponent(String(r.id))}">Findings of this rule</a></p>`
  return { title: String(r.title), section: 'rules', body }
}
