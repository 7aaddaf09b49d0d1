/** Clients: usage per client (events, resources, findings) and one client's page. */
import { html, withQuery } from '../html.js'
import { severityBadge, when } from '../layout.js'
import { ApiProblem, callApi, expectOk, type ConsoleContext } from '../context.js'
import type { PageResult } from '../index.js'
import { consoleLink } from './queue.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any

const first = (v: string | string[] | undefined) => [v ?? []].flat()[0]

export async function clientsPage(
  ctx: ConsoleContext,
  _params: Record<string, string>,
  query: Record<string, string | string[]>,
): Promise<PageResult> {
  const cursor = first(query.cursor)
  const list = expectOk(
    await callApi(ctx, 'GET', withQuery('/v1/clients', { limit: '100', cursor })),
  )
  const items: Json[] = Array.isArray(list.items) ? list.items : []
  const body = html`<h1>Clients</h1>
    <p class="muted">The last 30 days.</p>
    ${
      items.length
        ? html`<table>
            <thead>
              <tr>
                <th scope="col">Client</th>
                <th scope="col" class="num">Events</th>
                <th scope="col" class="num">Findings</th>
                <th scope="col" class="num">Open</th>
                <th scope="col">First seen</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              ${items.map(
                (c) =>
                  html`<tr>
                    <td>
                      <a href="/clients/${encodeURIComponent(String(c.client_id))}"
                        >${String(c.client_id)}</a
                      >
                    </td>
                    <td class="num">${String(c.events ?? '')}</td>
                    <td class="num">${String(c.findings ?? '')}</td>
                    <td class="num">${String(c.open_findings ?? '')}</td>
                    <td>${when(c.first_seen)}</td>
                    <td>${when(c.last_seen)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
        : html`<p>No client was seen.</p>`
    }
    <nav class="pager" aria-label="Pages">
      ${list.next_cursor ? html`<a rel="next" href="${withQuery('/clients', { cursor: String(list.next_cursor), tenant: ctx.tenant })}">Next page</a>` : ''}
    </nav>`
  return { title: 'Clients', section: 'clients', body }
}

export async function clientPage(
  ctx: ConsoleContext,
  params: Record<string, string>,
): Promise<PageResult> {
  const id = params.id ?? ''
  if (id === '' || id.length > 256) throw new ApiProblem(404, 'no such client')
  const [findings, events] = await Promise.all([
    callApi(ctx, 'GET', withQuery('/v1/findings', { client: id, limit: '100' })),
    callApi(ctx, 'GET', withQuery('/v1/events', { client: id, limit: '200' })),
  ])
  const items: Json[] = expectOk(findings).items ?? []
  const evs: Json[] = expectOk(events).items ?? []
  // Usage over time: events per day of the latest 200, per decision.
  const days = new Map<string, { accepted: number; rejected: number; other: number }>()
  for (const e of evs) {
    const day = String(e?.event?.occurred_at ?? '').slice(0, 10)
    const d = days.get(day) ?? { accepted: 0, rejected: 0, other: 0 }
    const decision = e?.event?.decision
    if (decision === 'accepted') d.accepted++
    else if (decision === 'rejected') d.rejected++
    else d.other++
    days.set(day, d)
  }
  const resources = [
    ...new Set(evs.map((e) => String(e?.resource_canonical ?? '')).filter(Boolean)),
  ]
  const body = html`<h1>Client <span class="mono">${id}</span></h1>
    <section aria-labelledby="h-use">
      <h2 id="h-use">Usage over time</h2>
      ${
        days.size
          ? html`<table>
              <caption class="muted">
                Its latest ${evs.length} events, per day
              </caption>
              <thead>
                <tr>
                  <th scope="col">Day</th>
                  <th scope="col" class="num">Accepted</th>
                  <th scope="col" class="num">Rejected</th>
                  <th scope="col" class="num">Other events</th>
                </tr>
              </thead>
              <tbody>
                ${[...days]
                  .sort(([a], [b]) => b.localeCompare(a))
                  .map(
                    ([day, d]) =>
                      html`<tr>
                        <td>${day}</td>
                        <td class="num">${d.accepted}</td>
                        <td class="num">${d.rejected}</td>
                        <td class="num">${d.other}</td>
                      </tr>`,
                  )}
              </tbody>
            </table>`
          : html`<p class="muted">No events.</p>`
      }
      <h3>Resources reached</h3>
      <ul>
        ${resources.map((r) => html`<li class="mono">${r}</li>`)}
      </ul>
    </section>
    <section aria-labelledby="h-f">
      <h2 id="h-f">Findings</h2>
      ${
        items.length
          ? html`<table>
              <thead>
                <tr>
                  <th scope="col">Severity</th>
                  <th scope="col">Finding</th>
                  <th scope="col">Resource</th>
                  <th scope="col">Last seen</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                ${items.map(
                  (f) =>
                    html`<tr>
                      <td>${severityBadge(String(f.severity))}</td>
                      <td><a href="${consoleLink(f)}">${String(f.title)}</a></td>
                      <td class="mono">${String(f.keys?.resource ?? '')}</td>
                      <td>${when(f.last_seen)}</td>
                      <td>${String(f.status)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
          : html`<p class="muted">None.</p>`
      }
    </section>`
  return { title: `Client ${id}`, section: 'clients', body }
}
