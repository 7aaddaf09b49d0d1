/**
 * MCP Authorization clauses, cited from specification revision 2025-11-25 (the quoted text is the
 * same in 2025-06-18 and unchanged in 2026-07-28, where the sections moved). Ids are audtrail's own
 * and stable. Each clause, its rules and its text are in docs/spec/mcp-authorization.md;
 * unvalidated-audience is listed under the two clauses its rationale cites. Quotes are verbatim
 * from the specification (its bold markers removed).
 */
import { defineFramework } from './framework.js'

const REVISION = '2025-11-25'
const AUTH = `https://modelcontextprotocol.io/specification/${REVISION}/basic/authorization`
const PRACTICES = `https://modelcontextprotocol.io/specification/${REVISION}/basic/security_best_practices`
/** What the revision says about sender-constrained tokens (docs/design/sender-constraint-coverage.md). */
const SENDER_NOTE =
  'Sender-constrained tokens are not required: the revision has clients send `Authorization: Bearer` and DPoP appears only in the optional, draft "DPoP Profile for MCP" of the authorization extensions (github.com/modelcontextprotocol/ext-auth). Where tokens are bound, the bound tokens accepted without proof count here (a stolen bound token turned back into a bearer credential); the two shares are informational. The DPoP rules map to this clause in revision 2026-07-28; this revision lists only rules that cite it.'

export default defineFramework({
  id: 'mcp-authorization',
  title: `MCP Authorization specification (revision ${REVISION})`,
  order: 60,
  label: 'Model Context Protocol, Authorization',
  source: {
    title: 'Model Context Protocol specification, Authorization',
    publisher: 'Model Context Protocol',
    version: REVISION,
    url: AUTH,
  },
  ids: {
    'mcp-authz/resource-parameter': 'Resource Parameter Implementation',
    'mcp-authz/canonical-server-uri': 'Canonical Server URI',
    'mcp-authz/token-handling': 'Token Handling',
    'mcp-authz/access-token-privilege-restriction': 'Access Token Privilege Restriction',
    'mcp-authz/token-audience-binding': 'Token Audience Binding and Validation',
    'mcp-authz/token-theft': 'Token Theft',
    'mcp-authz/token-passthrough': 'Token Passthrough',
    'mcp-authz/scope-minimization': 'Scope Minimization',
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
      rules: ['missing-resource-indicator', 'multi-audience-token', 'overbroad-audience'],
      metrics: ['resource_indicator_coverage', 'multi_audience_token_share'],
    },
    {
      id: 'mcp-authz/canonical-server-uri',
      citation: {
        revision: REVISION,
        url: `${AUTH}#canonical-server-uri`,
        quote:
          'MCP clients SHOULD provide the most specific URI that they can for the MCP server they intend to access, following the guidance in RFC 8707.',
      },
      rules: ['overbroad-audience', 'resource-uri-drift'],
      metrics: ['drifted_resources'],
    },
    {
      id: 'mcp-authz/token-handling',
      citation: {
        revision: REVISION,
        url: `${AUTH}#token-handling`,
        quote:
          'MCP servers MUST validate that access tokens were issued specifically for them as the intended audience, according to RFC 8707 Section 2. If validation fails, servers MUST respond according to OAuth 2.1 Section 5.3 error handling requirements. Invalid or expired tokens MUST receive a HTTP 401 response.',
      },
      rules: [
        'aud-mismatch-accepted',
        'aud-mismatch-rejected',
        'expired-token-accepted',
        'unvalidated-audience',
      ],
      metrics: ['aud_validation_coverage', 'accepted_mismatches', 'expired_tokens_accepted'],
    },
    {
      id: 'mcp-authz/access-token-privilege-restriction',
      citation: {
        revision: REVISION,
        url: `${AUTH}#access-token-privilege-restriction`,
        quote:
          'MCP servers MUST only accept tokens specifically intended for themselves and MUST reject tokens that do not include them in the audience claim or otherwise verify that they are the intended recipient of the token.',
      },
      rules: ['aud-mismatch-accepted', 'cross-audience-replay', 'unvalidated-audience'],
      metrics: ['aud_validation_coverage', 'accepted_mismatches', 'cross_audience_replays'],
    },
    {
      id: 'mcp-authz/token-audience-binding',
      citation: {
        revision: REVISION,
        url: `${AUTH}#token-audience-binding-and-validation`,
        quote:
          'RFC 8707 Resource Indicators provide critical security benefits by binding tokens to their intended audiences when the Authorization Server supports the capability.',
      },
      rules: ['missing-resource-indicator', 'granted-aud-mismatch'],
      metrics: ['resource_indicator_coverage', 'aud_validation_coverage'],
    },
    {
      id: 'mcp-authz/token-theft',
      citation: {
        revision: REVISION,
        url: `${AUTH}#token-theft`,
        quote:
          'Authorization servers SHOULD issue short-lived access tokens to reduce the impact of leaked tokens.',
      },
      rules: ['long-lived-token'],
      metrics: [
        'token_lifetime_p50_s',
        'token_lifetime_p95_s',
        'sender_constrained_token_share',
        'proof_of_possession_coverage',
        'unproven_bound_presentations',
      ],
      note: SENDER_NOTE,
    },
    {
      id: 'mcp-authz/token-passthrough',
      citation: {
        revision: REVISION,
        url: `${PRACTICES}#token-passthrough`,
        quote:
          'MCP servers MUST NOT accept any tokens that were not explicitly issued for the MCP server.',
      },
      rules: ['aud-mismatch-accepted', 'cross-audience-replay', 'token-passthrough'],
      metrics: ['accepted_mismatches', 'cross_audience_replays'],
      note: 'The forwarding shows as the server’s token presented downstream from the server’s side (token-passthrough); the accepting side and one token key at several resources are evidence too.',
    },
    {
      id: 'mcp-authz/scope-minimization',
      citation: { revision: REVISION, url: `${PRACTICES}#scope-minimization` },
      rules: ['scope-not-valid-for-resource'],
      metrics: ['token_requests'],
    },
  ],
  notes: `The clauses, their ids, verbatim text and rules: [mcp-authorization.md](mcp-authorization.md).`,
})
