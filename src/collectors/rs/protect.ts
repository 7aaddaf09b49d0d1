/**
 * Which requests a `protect` prefix covers, decided on the path the host's router resolves.
 *
 * Routers do not agree on what a request target means: Express matches the raw path
 * case-insensitively, ignores a trailing slash, reads any `scheme://host` absolute form and turns
 * backslashes into slashes when a `#` is present; Fastify (find-my-way) percent-decodes before it
 * routes and reads `http(s)://` absolute forms; other routers resolve dot segments, cut
 * `;params`, merge duplicate slashes or decode twice. A prefix compared with the raw target was
 * bypassed by any of these spellings (`/MCP`, `http://h/mcp`, `/%6Dcp`). So the decision is:
 *
 * - Every spelling a router may resolve is derived from the target (canonical-paths.ts).
 * - The request is protected when ANY of these spellings, the raw path compared as before, or
 *   (Fastify) the pattern of the route the router matched lies under a prefix. Each step only
 *   ever adds protection: it is applied to the prefixes too, and a path under a prefix stays
 *   under it once cut, decoded or folded.
 * - Fail closed: a target that cannot be normalised is protected (canonical-paths.ts says which
 *   targets cannot be).
 * - A custom `protect` function is not affected: it decides on the framework's request alone.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { ConfigError } from '../../errors.js'
import { canonicalPaths, fold } from './canonical-paths.js'

export { canonicalPaths, DECODE_ROUNDS, type CanonicalPaths } from './canonical-paths.js'

/** What the protection decision looks at, besides the framework's request for `protect()`. */
export interface ProtectTarget {
  /** the raw request path, query cut (the event's `http.path`) */
  path: string
  /** the request target as received */
  url: string | undefined
  method: string
  headers: IncomingHttpHeaders
  /** the pattern of the route the host's router matched (Fastify), when known */
  route?: string | undefined
  /**
   * other targets the host routes on (Express: `req.url` after a host middleware rewrote it, and
   * `baseUrl + url`), judged like `url`: protected when any of them is under a prefix
   */
  alternates?: readonly (string | undefined)[] | undefined
}

/** A route pattern (`/orders/:id`, `/mcp/*`) folded like a path: never decoded, never refused. */
function routeForm(pattern: string): string {
  const segments: string[] = []
  for (const segment of pattern.replaceAll('\\', '/').split('/'))
    if (segment !== '') segments.push(fold(segment))
  return `/${segments.join('/')}`
}

function under(path: string, prefix: string): boolean {
  return prefix === '/' || path === prefix || path.startsWith(`${prefix}/`)
}

/**
 * A prefix test for configured `protect` prefixes (each starting with `/`). A prefix that cannot
 * be normalised (a dot segment, a malformed escape) is a configuration error.
 */
export function prefixMatcher(
  prefixes: readonly string[],
): (target: Pick<ProtectTarget, 'path' | 'url' | 'route' | 'alternates'>) => boolean {
  const canonical = new Set<string>()
  const problems: string[] = []
  for (const p of prefixes) {
    const c = canonicalPaths(p, { unicode: true })
    if (c.ok) for (const form of c.paths) canonical.add(form)
    else problems.push(`audtrail collector: protect: ${JSON.stringify(p)} (${c.reason})`)
  }
  if (problems.length > 0) throw new ConfigError(problems)
  const forms = [...canonical]

  const judge = (url: string | undefined) => {
    const c = canonicalPaths(url)
    if (!c.ok) return true
    return c.paths.some((s) => forms.some((p) => under(s, p)))
  }

  return ({ path, url, route, alternates }) => {
    // The raw comparison of earlier versions, kept: normalisation only ever adds protection.
    if (prefixes.some((p) => path === p || path.startsWith(p.endsWith('/') ? p : `${p}/`)))
      return true
    if (route !== undefined) {
      const r = routeForm(route)
      if (forms.some((p) => under(r, p))) return true
    }
    if (judge(url)) return true
    return alternates?.some((a) => a !== undefined && a !== url && judge(a)) ?? false
  }
}

/**
 * A CORS preflight (Fetch standard): `OPTIONS` with `Origin` and `Access-Control-Request-Method`,
 * and no body (a browser never sends one). Browsers send it without credentials, so it is never
 * challenged; any other `OPTIONS` request is judged like the rest.
 */
export function isCorsPreflight(method: string, headers: IncomingHttpHeaders): boolean {
  if (method !== 'OPTIONS') return false
  if (!nonEmpty(headers.origin) || !nonEmpty(headers['access-control-request-method'])) return false
  if (headers['transfer-encoding'] !== undefined) return false
  const length = headers['content-length']
  return length === undefined || length === '0'
}

function nonEmpty(v: string | string[] | undefined): boolean {
  return typeof v === 'string' ? v.trim().length > 0 : Array.isArray(v) && v.length > 0
}
