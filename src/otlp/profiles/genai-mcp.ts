/**
 * The MCP semantic conventions of OpenTelemetry (GenAI conventions, status Development):
 * https://github.com/open-telemetry/semantic-conventions-genai/blob/v0.1.0/docs/gen-ai/mcp.md
 * (the MCP attributes first appeared in open-telemetry/semantic-conventions v1.37.0 and moved to
 * the GenAI repository since; the names read here are the same in both).
 *
 * Read: `mcp.method.name` (the JSON-RPC method, the match), `gen_ai.tool.name`, `mcp.session.id`,
 * `client.address`, `http.request.method`, `url.path`, `http.response.status_code`, and the
 * resource's `service.name` as the source. A span of kind CLIENT is declined: it is the client's
 * view of a call, and audit records come from where the token is checked (the server or a
 * gateway). The conventions carry no token key, audience, requested resource or decision: an
 * event needs `audtrail.*` (or agentgateway's `jwt.*`) for those, or it is refused by validation.
 */
import { int, ipOf, serviceName, set, SPAN_KIND, str, type Profile } from './profile.js'

export const genaiMcp: Profile = {
  id: 'genai-mcp',
  follows: 'OpenTelemetry semantic conventions for MCP, semantic-conventions-genai v0.1.0',
  matches(record) {
    if (str(record.attributes, 'mcp.method.name') === undefined) return false
    if (record.signal === 'span' && record.kind === SPAN_KIND.client)
      return 'an MCP client span (kind CLIENT): audit records come from the server or a gateway'
    return true
  },
  apply(record, draft) {
    const a = record.attributes
    set(draft, 'event_type', 'token.presented')
    set(draft, 'source.kind', 'mcp_server')
    set(draft, 'source.id', serviceName(record))
    set(draft, 'tool.method', str(a, 'mcp.method.name'))
    set(draft, 'tool.name', str(a, 'gen_ai.tool.name'))
    set(draft, 'session_id', str(a, 'mcp.session.id'))
    set(draft, 'network.ip', ipOf(str(a, 'client.address')))
    const method = str(a, 'http.request.method')
    const path = str(a, 'url.path')
    if (method !== undefined && path !== undefined) {
      set(draft, 'http.method', method)
      set(draft, 'http.path', path)
      set(draft, 'http.status', int(a, 'http.response.status_code'))
    }
  },
}
