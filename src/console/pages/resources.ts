/** The resource inventory: each canonical resource with its drift variants and their roles. */
import { html, withQuery } from '../html.js'
import { when } from '../layout.js'
import { callApi, expectOk, type ConsoleContext } from '../context.js'
import type { PageResult } from '../index.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any

export async function resourcesPage(
  ctx: ConsoleContext,
  _params: Record<string, string>,
  query: Record<string, string | string[]>,
): Promise<PageResult> {
  const cursor = [query.cursor ?? []].flat()[0]
  const list = expectOk(
    await callApi(ctx, 'GET', withQuery('/v1/resources', { limit: '200', cursor })),
  )
  const items: Json[] = Array.isArray(list.items) ? list.items : []
  const body = html`<h1>Resources</h1>
    <p class="muted">
      Every resource seen in the last 30 days, with the spellings it was seen under (drift) and
      where each was seen.
    </p>
    ${
      items.length
        ? html`<table>
            <thead>
              <tr>
                <th scope="col">Resource</th>
                <th scope="col">Variants (raw spelling · role · events)</th>
                <th scope="col">First seen</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              ${items.map((r) => {
                const variants: Json[] = Array.isArray(r.variants) ? r.variants : []
                return html`<tr>
                  <td class="mono">
                    ${[r.canonical ?? r.drift_key ?? ''].flat().map(String).join(', ')}${r.drift === true || variants.length > 1 ? html` <span class="sev sev-medium">drift</span>` : ''}
                  </td>
                  <td>
                    <ul>
                      ${variants.map(
                        (v) =>
                          html`<li>
                            <span class="mono">${String(v.raw)}</span> · ${String(v.role)} ·
                            ${String(v.events)}
                          </li>`,
                      )}
                    </ul>
                  </td>
                  <td>${when(r.first_seen)}</td>
                  <td>${when(r.last_seen)}</td>
                </tr>`
              })}
            </tbody>
          </table>`
        : html`<p>No resource was seen.</p>`
    }
    <nav class="pager" aria-label="Pages">
      ${list.next_cursor ? html`<a rel="next" href="${withQuery('/resources', { cursor: String(list.next_cursor), tenant: ctx.tenant })}">Next page</a>` : ''}
    </nav>`
  return { title: 'Resources', section: 'resources', body }
}
