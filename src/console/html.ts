/**
 * The console's only way to write HTML: the `html` template tag escapes every interpolated value
 * (text and attribute contexts alike: & < > " ' are replaced), unless it is an `Html` value built
 * by this module. Arrays are joined; null, undefined and false write nothing. No other module
 * concatenates markup from strings (OWASP Cross Site Scripting Prevention Cheat Sheet, rule 1).
 */

/** Markup this module produced (escaped already). */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value
  }
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** Text as HTML text or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!)
}

export type Fragment = Html | string | number | boolean | null | undefined | readonly Fragment[]

function render(value: Fragment): string {
  if (value === null || value === undefined || value === false) return ''
  if (value instanceof Html) return value.value
  if (Array.isArray(value)) return (value as readonly Fragment[]).map(render).join('')
  return escapeHtml(String(value))
}

/** `html\`<p>${text}</p>\``: the literal parts as written, every value escaped. */
export function html(strings: TemplateStringsArray, ...values: Fragment[]): Html {
  let out = strings[0]!
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!
  return new Html(out)
}

/**
 * A URL for an href or action: only relative paths of this origin (`/...`, never `//host`) and
 * http(s) URLs; anything else (javascript:, data:) becomes `#`.
 */
export function safeUrl(url: string): string {
  if (/^\/(?!\/)/.test(url)) return url
  return /^https?:\/\//i.test(url) ? url : '#'
}

/** A path with its query (empty values left out), for links that keep a filter state. */
export function withQuery(path: string, query: Record<string, string | undefined>): string {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, v)
  const text = params.toString()
  return text ? `${path}?${text}` : path
}
