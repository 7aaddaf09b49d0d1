/** The page frame every console page shares: head (assets only, no inline script), nav, footer. */
import type { Caller } from './caller.js'
import { html, type Fragment, type Html } from './html.js'

export interface Frame {
  title: string
  /** The nav entry of this page. */
  section?: 'queue' | 'resources' | 'clients' | 'rules' | 'compliance' | 'docs'
  caller?: Caller
  /** The session's CSRF token, for the sign-out form. */
  csrf?: string
  /** Signed in through OpenID Connect (a sign-out button is shown). */
  signedIn?: boolean
}

const NAV: [NonNullable<Frame['section']>, string, string][] = [
  ['queue', '/', 'Findings'],
  ['resources', '/resources', 'Resources'],
  ['clients', '/clients', 'Clients'],
  ['rules', '/rules', 'Rules'],
  ['compliance', '/compliance', 'Compliance'],
  ['docs', '/docs', 'API'],
]

export function page(frame: Frame, body: Fragment): Html {
  const who = frame.caller
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>${frame.title} · audtrail</title>
        <link rel="stylesheet" href="/assets/console.css" />
        <script src="/assets/htmx.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <a class="brand" href="/">audtrail</a>
          <nav aria-label="Console">
            <ul>
              ${NAV.map(
                ([key, href, label]) =>
                  html`<li>
                    <a href="${href}" ${frame.section === key ? html` aria-current="page"` : ''}
                      >${label}</a
                    >
                  </li>`,
              )}
            </ul>
          </nav>
          <div class="who">
            ${
              who
                ? html`<span
                    >${who.subject}${who.tenant ? html` · tenant <strong>${who.tenant}</strong>` : ''}
                    · ${who.roles.join(', ')}</span
                  >`
                : ''
            }${
              frame.signedIn && frame.csrf
                ? html`<form method="post" action="/auth/logout" class="inline">
                    <input type="hidden" name="_csrf" value="${frame.csrf}" /><button type="submit">
                      Sign out
                    </button>
                  </form>`
                : ''
            }
          </div>
        </header>
        <main id="main">${body}</main>
      </body>
    </html> `
}

/** An error or notice page body. */
export function problem(title: string, message: string, extra?: Fragment): Html {
  return html`<h1>${title}</h1>
    <p class="problem" role="alert">${message}</p>
    ${extra}`
}

const SEVERITY_ORDER = ['critical', 'high', 'medium', 'low', 'info']

export function severityBadge(severity: string): Html {
  const known = SEVERITY_ORDER.includes(severity) ? severity : 'info'
  return html`<span class="sev sev-${known}">${severity}</span>`
}

/** An RFC 3339 instant, shown as `2026-12-07 12:47:09Z` in a <time> element. */
export function when(instant: unknown): Html {
  if (typeof instant !== 'string' || instant === '') return html`<span class="muted">–</span>`
  const normal = /Z$|[+-]\d\d:\d\d$/.test(instant) ? instant : `${instant.replace(' ', 'T')}Z`
  const shown = normal.replace('T', ' ').replace(/\.\d+/, '')
  return html`<time datetime="${normal}">${shown}</time>`
}
