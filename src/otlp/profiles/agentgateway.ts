/**
 * agentgateway (https://agentgateway.dev), an MCP and A2A gateway that validates JWTs
 * (`jwtAuth`) and exports traces and access logs over OTLP. Its spans carry the MCP conventions'
 * `mcp.method.name` and `gen_ai.tool.name`, and the claims of the validated token where its
 * `tracing.fields.add` / `logging.fields.add` CEL expressions put them: audtrail reads `jwt.sub`,
 * `jwt.iss`, `jwt.jti`, `jwt.aud`, `jwt.iat`, `jwt.exp`, `jwt.scope`, `jwt.client_id` (or
 * `jwt.azp`), and the access log's `http.method`, `http.path`, `http.status` and `src.addr`.
 * docs/otlp.md shows the gateway configuration that adds them.
 *
 * Match: a `jwt.sub` attribute; or, from a resource whose `service.name` starts with
 * `agentgateway`, an MCP call (`mcp.method.name`) or a request refused with 401 or 403.
 * Decision, unless `audtrail.decision` says otherwise: a status below 400 with the token's claims
 * present is `accepted` (`ok`); a 401 without them `missing_token` (no token); another 401 or a
 * 403 is `rejected` (`other`: the access log does not say why).
 */
import { int, ipOf, serviceName, set, str, strings, type Profile } from './profile.js'

export const agentgateway: Profile = {
  id: 'agentgateway',
  follows: 'agentgateway tracing and access-log attributes (jwt.* claims added by fields.add)',
  matches(record) {
    const a = record.attributes
    if (str(a, 'jwt.sub') !== undefined) return true
    if (!(serviceName(record) ?? '').startsWith('agentgateway')) return false
    // The gateway's other lines (health checks, static routes) are not audit records: an MCP
    // call, or a request it refused for want of a valid token, is.
    const status = int(a, 'http.status')
    return str(a, 'mcp.method.name') !== undefined || status === 401 || status === 403
  },
  apply(record, draft) {
    const a = record.attributes
    set(draft, 'event_type', 'token.presented')
    set(draft, 'source.kind', 'gateway')
    set(draft, 'source.id', serviceName(record))
    set(draft, 'subject', str(a, 'jwt.sub'))
    set(draft, 'issuer', str(a, 'jwt.iss'))
    set(draft, 'client_id', str(a, 'jwt.client_id') ?? str(a, 'jwt.azp'))
    set(draft, 'token.jti', str(a, 'jwt.jti'))
    set(draft, 'token.iat', int(a, 'jwt.iat'))
    set(draft, 'token.exp', int(a, 'jwt.exp'))
    set(draft, 'token.scopes', strings(a, 'jwt.scope'))
    const aud = strings(a, 'jwt.aud')
    set(draft, 'presented_aud', aud)
    set(draft, 'token.aud', aud)
    const claims = ['jwt.sub', 'jwt.jti', 'jwt.iss'].some((k) => a.has(k))
    if (claims) set(draft, 'token.format', 'jwt')
    set(draft, 'tool.method', str(a, 'mcp.method.name'))
    set(draft, 'tool.name', str(a, 'gen_ai.tool.name'))
    set(draft, 'session_id', str(a, 'mcp.session.id'))
    set(draft, 'network.ip', ipOf(str(a, 'src.addr')))
    const method = str(a, 'http.method')
    const path = str(a, 'http.path')
    const status = int(a, 'http.status')
    if (method !== undefined && path !== undefined) {
      set(draft, 'http.method', method)
      set(draft, 'http.path', path)
      set(draft, 'http.status', status)
    }
    if (status === undefined) return
    if (status < 400 && claims) {
      set(draft, 'decision', 'accepted')
      set(draft, 'reason', 'ok')
    } else if (status === 401 && !claims) {
      set(draft, 'decision', 'rejected')
      set(draft, 'reason', 'missing_token')
    } else if (status === 401 || status === 403) {
      set(draft, 'decision', 'rejected')
      set(draft, 'reason', 'other')
    }
  },
}
