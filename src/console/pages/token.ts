/** One token: its timeline drawn, the resources it reached, its findings, its delegation chain. */
import { html } from '../html.js'
import { severityBadge, when } from '../layout.js'
import { ApiProblem, callApi, expectOk, type ConsoleContext } from '../context.js'
import type { PageResult } from '../index.js'
import { timelineEvents } from './finding.js'
import { consoleLink } from './queue.js'
import { timeline } from './timeline.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any

export async function tokenPage(
  ctx: ConsoleContext,
  params: Record<string, string>,
): Promise<PageResult> {
  const key = params.key ?? ''
  if (key === '' || key.length > 256) throw new ApiProblem(404, 'no such token')
  const t = expectOk(await callApi(ctx, 'GET', `/v1/tokens/${encodeURIComponent(key)}`))
  const events = timelineEvents(t)
  const findings: Json[] = Array.isArray(t.findings) ? t.findings : []
  const evidence = new Set<string>(
    findings.flatMap((f) => (Array.isArray(f?.evidence?.event_ids) ? f.evidence.event_ids : [])),
  )
  const summary: Json[] = Array.isArray(t.summary) ? t.summary : []
  const body = html`<h1>Token <span class="mono">${key}</span></h1>
    <section aria-labelledby="h-tl">
      <h2 id="h-tl">Timeline</h2>
      ${
        events.length ? timeline(events, evidence) : html`<p class="muted">No events.</p>`
      }${t.truncated === true ? html`<p class="notice">The API cut this timeline at its cap.</p>` : ''}
    </section>
    ${
      summary.length
        ? html`<section aria-labelledby="h-sum">
            <h2 id="h-sum">Presentations by resource</h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">Resource</th>
                  <th scope="col">Decision</th>
                  <th scope="col" class="num">Count</th>
                  <th scope="col">First seen</th>
                  <th scope="col">Last seen</th>
                </tr>
              </thead>
              <tbody>
                ${summary.map(
                  (s) =>
                    html`<tr>
                      <td class="mono">${String(s.resource)}</td>
                      <td>${String(s.decision)}</td>
                      <td class="num">${String(s.count)}</td>
                      <td>${when(s.first_seen)}</td>
                      <td>${when(s.last_seen)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </section>`
        : html`<section aria-labelledby="h-res">
            <h2 id="h-res">Resources</h2>
            <ul>
              ${(Array.isArray(t.resources) ? t.resources : []).map((r: unknown) => html`<li class="mono">${String(r)}</li>`)}
            </ul>
          </section>`
    }
    <section aria-labelledby="h-f">
      <h2 id="h-f">Findings</h2>
      ${
        findings.length
          ? html`<ul>
              ${findings.map((f) => html`<li>${severityBadge(String(f.severity))} <a href="${consoleLink(f)}">${String(f.title)}</a> <span class="muted">${String(f.status)}</span></li>`)}
            </ul>`
          : html`<p class="muted">None.</p>`
      }
    </section>
    <section aria-labelledby="h-d">
      <h2 id="h-d">Delegation</h2>
      ${delegation(t.delegation)}
    </section>`
  return { title: `Token ${key}`, section: 'queue', body }
}

function delegation(d: Json) {
  const links = (items: Json) =>
    (Array.isArray(items) ? items : []).map((i: Json) => {
      const key = String(i?.token_key ?? i?.key ?? i ?? '')
      return html`<li><a href="/tokens/${encodeURIComponent(key)}" class="mono">${key}</a></li>`
    })
  const up = links(d?.ancestors)
  const down = links(d?.descendants)
  if (up.length === 0 && down.length === 0)
    return html`<p class="muted">No token exchange involves this token.</p>`
  return html`<h3>Exchanged from</h3>
    <ul>
      ${up}
    </ul>
    <h3>Exchanged into</h3>
    <ul>
      ${down}
    </ul>`
}
