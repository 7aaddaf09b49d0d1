/**
 * MCP Authorization clauses of specification revision 2026-07-28, the revision after 2025-11-25
 * (which stays selectable as `mcp-authorization`). Ids are audtrail's own and stable: a clause that
 * keeps its meaning keeps the 2025-11-25 id, so findings and exceptions read the same across the
 * two. Rules map to these ids in their `mappings.mcp_2026_07_28` field. Quotes are verbatim from
 * the specification (its bold markers and links removed); each control's note says what changed
 * since 2025-11-25.
 */
import { defineFramework } from './framework.js'

const REVISION = '2026-07-28'
const SPEC = `https://modelcontextprotocol.io/specification/${REVISION}`
const AUTH = `${SPEC}/basic/authorization`
const SECURITY = `${AUTH}/security-considerations`
const REGISTRATION = `${AUTH}/client-registration`
const HTTP = `${SPEC}/basic/transports/streamable-http`

export default defineFramework({
  id: 'mcp-authorization-2026-07-28',
  title: `MCP Authorization specification (revision ${REVISION})`,
  order: 65,
  label: `Model Context Protocol, Authorization (revision ${REVISION})`,
  source: {
    title: 'Model Context Protocol specification, Authorization',
    publisher: 'Model Context Protocol',
    version: REVISION,
    url: AUTH,
  },
  mapping: { key: 'mcp_2026_07_28', label: `MCP Authorization ${REVISION}` },
  ids: {
    'mcp-authz/resource-parameter': 'Resource Parameter Implementation',
    'mcp-authz/canonical-server-uri': 'Canonical Server URI',
    'mcp-authz/token-handling': 'Token Handling',
    'mcp-authz/token-audience-binding': 'Token Audience Binding and Validation',
    'mcp-authz/token-theft': 'Token Theft',
    'mcp-authz/access-token-privilege-restriction': 'Access Token Privilege Restriction',
    'mcp-authz/token-passthrough': 'Token Passthrough',
    'mcp-authz/scope-selection': 'Scope Selection Strategy',
    'mcp-authz/authorization-response-validation': 'Authorization Response Validation',
    'mcp-authz/authorization-server-binding': 'Authorization Server Binding',
    'mcp-http/standard-request-headers': 'Standard Request Headers',
    'mcp-http/server-validation': 'Server Validation',
  },
  controls: [
    {
      id: 'mcp-authz/resource-parameter',
      citation: {
        revision: REVISION,
        url: `${AUTH}#resource-parameter-implementation`,
        quote:
          'MCP clients MUST send this parameter regardless of whether authorization servers support it.',
      },
      metrics: ['resource_indicator_coverage', 'multi_audience_token_share'],
      note: 'Unchanged since 2025-11-25.',
    },
    {
      id: 'mcp-authz/canonical-server-uri',
      citation: {
        revision: REVISION,
        url: `${AUTH}#canonical-server-uri`,
        quote:
          'MCP clients SHOULD provide the most specific URI that they can for the MCP server they intend to access, following the guidance in RFC 8707.',
      },
      metrics: ['drifted_resources'],
      note: 'Unchanged since 2025-11-25.',
    },
    {
      id: 'mcp-authz/token-handling',
      citation: {
        revision: REVISION,
        url: `${AUTH}#token-handling`,
        quote:
          'MCP servers MUST validate that access tokens were issued specifically for them as the intended audience, according to RFC 8707 Section 2. If validation fails, servers MUST respond according to OAuth 2.1 Section 5.3 error handling requirements. Invalid or expired tokens MUST receive a HTTP 401 response.',
      },
      metrics: ['aud_validation_coverage', 'accepted_mismatches', 'expired_tokens_accepted'],
      note: 'Since 2025-11-25: OAuth 2.1 is cited at draft 13, and the section ends "MCP servers MUST only accept tokens that are valid for use with their own resources. MCP servers MUST NOT accept or transit any other tokens."',
    },
    {
      id: 'mcp-authz/token-audience-binding',
      citation: {
        revision: REVISION,
        url: `${SECURITY}#token-audience-binding-and-validation`,
        quote:
          'MCP servers MUST validate that tokens presented to them were specifically issued for their use',
      },
      metrics: ['resource_indicator_coverage', 'aud_validation_coverage'],
      note: 'Since 2025-11-25: moved to the Authorization Security Considerations page; wording unchanged.',
    },
    {
      id: 'mcp-authz/token-theft',
      citation: {
        revision: REVISION,
        url: `${SECURITY}#token-theft`,
        quote:
          'Authorization servers SHOULD issue short-lived access tokens to reduce the impact of leaked tokens.',
      },
      metrics: [
        'token_lifetime_p50_s',
        'token_lifetime_p95_s',
        'sender_constrained_token_share',
        'proof_of_possession_coverage',
        'unproven_bound_presentations',
      ],
      note: 'Since 2025-11-25: moved to the Authorization Security Considerations page; wording unchanged. Sender-constrained tokens are still not required: clients send `Authorization: Bearer`, and DPoP is only the optional, draft "DPoP Profile for MCP" of the authorization extensions (github.com/modelcontextprotocol/ext-auth). Where tokens are bound, the DPoP rules and the bound tokens accepted without proof count here; the two shares are informational.',
    },
    {
      id: 'mcp-authz/access-token-privilege-restriction',
      citation: {
        revision: REVISION,
        url: `${SECURITY}#access-token-privilege-restriction`,
        quote:
          'MCP servers MUST only accept tokens specifically intended for themselves and MUST reject tokens that do not include them in the audience claim or otherwise verify that they are the intended recipient of the token.',
      },
      metrics: ['aud_validation_coverage', 'accepted_mismatches', 'cross_audience_replays'],
      note: 'Since 2025-11-25: moved to the Authorization Security Considerations page, where it now also forbids token passthrough (the next control).',
    },
    {
      id: 'mcp-authz/token-passthrough',
      citation: {
        revision: REVISION,
        url: `${SECURITY}#access-token-privilege-restriction`,
        quote: 'The MCP server MUST NOT pass through the token it received from the MCP client.',
      },
      metrics: ['accepted_mismatches', 'cross_audience_replays'],
      note: 'Since 2025-11-25: the prohibition is a sentence of Access Token Privilege Restriction in the specification itself (2025-11-25 had it in Security Best Practices, which now lives under /docs/2026-07-28/tutorials/security/). Seen as the server’s token presented downstream from the server’s side (token-passthrough); the accepting side and one token key at several resources are evidence too.',
    },
    {
      id: 'mcp-authz/scope-selection',
      citation: {
        revision: REVISION,
        url: `${AUTH}#scope-selection-strategy`,
        quote:
          'When implementing authorization flows, MCP clients SHOULD follow the principle of least privilege by requesting only the scopes necessary for their intended operations.',
      },
      metrics: ['token_requests'],
      note: 'Since 2025-11-25: replaces the Scope Minimization section of Security Best Practices as the clause audtrail cites.',
    },
    {
      id: 'mcp-authz/authorization-server-binding',
      citation: {
        revision: REVISION,
        url: `${REGISTRATION}#authorization-server-binding`,
        quote:
          'When the authorization server changes (detected via updated protected resource metadata), clients MUST NOT reuse client credentials from a different authorization server and MUST re-register with the new authorization server.',
      },
      metrics: ['token_requests'],
      note: 'New in 2026-07-28 (SEP-2352): client credentials are keyed by the issuer. Client ID Metadata Documents, now preferred over Dynamic Client Registration (deprecated), are portable across authorization servers.',
    },
    {
      id: 'mcp-http/standard-request-headers',
      citation: {
        revision: REVISION,
        url: `${HTTP}#standard-request-headers`,
        quote: 'These headers are REQUIRED for compliance.',
      },
      metrics: ['logging_completeness', 'token_presentations'],
      note: 'New in 2026-07-28 (SEP-2243): `Mcp-Method` on every request and `Mcp-Name` on `tools/call`, `resources/read` and `prompts/get`, on the stateless Streamable HTTP transport (no `Mcp-Session-Id`).',
    },
    {
      id: 'mcp-http/server-validation',
      citation: {
        revision: REVISION,
        url: `${HTTP}#server-validation`,
        quote:
          'Servers that process the request body MUST reject requests where the values specified in the headers do not match the corresponding values in the request body.',
      },
      metrics: ['token_presentations'],
      note: 'New in 2026-07-28 (SEP-2243): a mismatch is rejected with 400 Bad Request and the JSON-RPC error -32020 (HeaderMismatch).',
    },
  ],
  notes: `Checked against the published text of revision 2026-07-28: Authorization
(${AUTH}), its Security Considerations (${SECURITY}) and Client Registration (${REGISTRATION})
pages, and the Streamable HTTP transport (${HTTP}). The revision's key changes
(${SPEC}/changelog): a stateless protocol without \`initialize\` or \`Mcp-Session-Id\`; required
\`Mcp-Method\` and \`Mcp-Name\` request headers; the \`iss\` authorization response parameter
(RFC 9207) validated by clients; client credentials bound to their authorization server; Client ID
Metadata Documents preferred and Dynamic Client Registration deprecated.

\`mcp-authz/authorization-response-validation\` (clients checking \`iss\` before redeeming a code)
is listed so that a rule can cite it; no rule observes the authorization response yet, so the
report has no control for it.`,
})
