/**
 * A token's timeline drawn: one lane per resource, time left to right, a mark per event (issued,
 * accepted, rejected), evidence events ringed. An SVG of attributes only (the CSP allows no inline
 * style), described for screen readers, with the same events listed in a table beside it.
 */
import { html, type Html } from '../html.js'
import { when } from '../layout.js'

export interface TimelineEvent {
  id: string
  at: string
  type: string
  resource: string
  decision?: string
  reason?: string
  client?: string
  audience?: string[]
}

const WIDTH = 900
const LEFT = 260
const LANE = 34
const TOP = 28

const kindOf = (e: TimelineEvent) =>
  e.type === 'token.presented' ? (e.decision === 'accepted' ? 'accepted' : 'rejected') : 'issued'

export function timeline(events: TimelineEvent[], evidence: Set<string>, focus?: string): Html {
  const shown = events.slice(0, 500)
  const lanes = [
    ...new Set(shown.map((e) => (e.type === 'token.presented' ? e.resource : 'issuer'))),
  ]
  const times = shown.map((e) => Date.parse(e.at)).filter((t) => Number.isFinite(t))
  const start = Math.min(...times)
  const span = Math.max(1, Math.max(...times) - start)
  const x = (at: string) => {
    const t = Date.parse(at)
    return Math.round(
      LEFT + 10 + ((Number.isFinite(t) ? t - start : 0) / span) * (WIDTH - LEFT - 30),
    )
  }
  const height = TOP + lanes.length * LANE + 20
  const first = shown[0]
  const issued = shown.find((e) => e.type !== 'token.presented')
  const outside = shown.filter((e) => e.type === 'token.presented' && e.resource === focus)
  const description =
    `${shown.length} events from ${first?.at ?? ''}` +
    (issued?.audience ? `; issued for ${issued.audience.join(', ')}` : '') +
    (outside.length ? `; presented ${outside.length} times at ${focus}` : '')
  return html`<div class="timeline">
    <div class="legend" aria-hidden="true">
      <span>● issued (blue)</span><span>● accepted (green)</span><span>● rejected (red)</span
      ><span>◯ ringed: evidence</span>
    </div>
    <svg
      id="timeline"
      viewBox="0 0 ${WIDTH} ${height}"
      role="img"
      aria-labelledby="timeline-title timeline-desc"
      xmlns="http://www.w3.org/2000/svg"
    >
      <title id="timeline-title">Token timeline</title>
      <desc id="timeline-desc">${description}</desc>
      <text x="${LEFT + 10}" y="16">
        ${first ? first.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : ''}
      </text>
      ${lanes.map((lane, i) => {
        const y = TOP + i * LANE + LANE / 2
        return html`<text x="4" y="${y + 4}"
            >${lane.length > 38 ? `${lane.slice(0, 37)}…` : lane}${lane === focus ? ' ◀' : ''}</text
          ><line x1="${LEFT}" x2="${WIDTH - 10}" y1="${y}" y2="${y}"></line>`
      })}
      ${shown.map((e) => {
        const lane = lanes.indexOf(e.type === 'token.presented' ? e.resource : 'issuer')
        const y = TOP + lane * LANE + LANE / 2
        const cx = x(e.at)
        return html`<g class="mark ${kindOf(e)}" data-event="${e.id}"
          ><circle class="${kindOf(e)}" cx="${cx}" cy="${y}" r="6"
            ><title>${e.type} ${e.decision ?? ''} ${e.at}</title></circle
          >${
            evidence.has(e.id)
              ? html`<circle
                  cx="${cx}"
                  cy="${y}"
                  r="10"
                  fill="none"
                  stroke="#1b1f24"
                  stroke-width="2"
                ></circle>`
              : ''
          }</g
        >`
      })}
    </svg>
    <details>
      <summary>
        The timeline as a table (${shown.length}
        events${events.length > shown.length ? ` of ${events.length}` : ''})
      </summary>
      <table id="timeline-table">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Event</th>
            <th scope="col">Resource</th>
            <th scope="col">Decision</th>
            <th scope="col">Client</th>
          </tr>
        </thead>
        <tbody>
          ${shown.map(
            (e) =>
              html`<tr${evidence.has(e.id) ? html` class="evidence"` : ''}><td>${when(e.at)}</td><td>${e.type === 'token.presented' ? 'presented' : e.type.replace('token.', '')}${e.audience ? ` for ${e.audience.join(', ')}` : ''}</td><td class="mono">${e.resource}</td><td>${e.decision ?? ''}${e.reason && e.reason !== 'ok' ? ` (${e.reason})` : ''}</td><td>${e.client ?? ''}</td></tr>`,
          )}
        </tbody>
      </table>
    </details>
  </div>`
}
