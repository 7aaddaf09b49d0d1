/** missing-resource-indicator: an authorization or token request without the RFC 8707 `resource`. */
import { z } from 'zod'
import type { EventRule } from '../rule.js'
import { exampleEvents, API, MCP, token } from './lib/example-events.js'
import { REF } from './lib/references.js'
import { registryEntry } from './lib/resources.js'
import { attribute, detect, isIssuance } from './lib/rows.js'

const params = z.object({
  ignoreGrantTypes: z
    .array(z.string())
    .default([])
    .describe(
      'grant types never expected to carry `resource` (e.g. a device flow the AS defaults by scope)',
    ),
})
const ev = exampleEvents('missing-resource-indicator')

/**
 * RFC 8707 §2: a resource indicator "MUST be an absolute URI, as specified by Section 4.3 of
 * [RFC3986]" and "MUST NOT include a fragment component". An absolute URI is a scheme, `:`, and a
 * hier-part without spaces; an empty value (`resource=`) or a relative one (`/mcp`, `mcp.example`)
 * names no resource at all, so the AS falls back to its default audience as if none was sent.
 */
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s#]*$/
export function isResourceIndicator(value: string): boolean {
  return ABSOLUTE_URI.test(value)
}

export const missingResourceIndicator: EventRule<typeof params> = {
  kind: 'event',
  id: 'missing-resource-indicator',
  title: 'Request without a resource indicator',
  severity: 'medium',
  description:
    'An authorization request, or a token request of any grant type (refresh and token exchange ' +
    'included), carried no usable `resource` parameter: none at all, or only values that are not ' +
    'an absolute URI without fragment (RFC 8707 §2), such as an empty `resource=` or a relative ' +
    '`/mcp`; the raw values are kept in the evidence. High when the token issued for it is bound to a ' +
    'resource the registry declares `kind: mcp`: the client then calls an MCP server, where the ' +
    'MCP specification makes `resource` mandatory. An authorization request alone stays medium ' +
    '(no token exists yet to tell where it goes).',
  rationale:
    'The MCP specification: the `resource` parameter "MUST be included in both authorization ' +
    'requests and token requests", and clients "MUST send this parameter regardless of whether ' +
    'authorization servers support it". Without it the AS falls back to a default audience ' +
    '(RFC 8707 §2.1, RFC 9068 §3), often a broad one, and the audience binding is left to chance.',
  references: [
    REF.mcpResourceParam,
    REF.mcpAudienceBinding,
    REF.rfc8707s2,
    REF.rfc8707s21,
    REF.rfc9068s3,
  ],
  mappings: {
    owasp_nhi: ['NHI4', 'NHI5'],
    owasp_asi: ['ASI03'],
    nist_csf: ['PR.AA-04', 'PR.AA-05'],
    nist_800_53: ['AC-6', 'IA-5', 'AU-3'],
    nist_800_207: ['tenet-3', 'tenet-6'],
    mcp_2026_07_28: ['mcp-authz/resource-parameter', 'mcp-authz/token-audience-binding'],
    mitre: [],
  },
  falsePositives: [
    'Clients of APIs outside the MCP world whose AS assigns a correct default audience per client.',
    'A collector that cannot see the request parameters and reports an empty list.',
    'A token exchange that names its target with the RFC 8693 `audience` parameter instead.',
    'Not raised for refused requests whose client the AS did not authenticate (`client_authenticated: false`) or did not know (`client_known: false`): anyone can claim a client id.',
  ],
  runbook: [
    'Identify the client (`client_id`) and its library; RFC 8707 support is usually a configuration flag.',
    '`reason: not_absolute_uri`: the client sent `resource` but with an empty or relative value (`invalid_resources`); fix its configuration (often an unset variable) to the canonical absolute URI.',
    'Check the audience the AS granted instead (`granted_aud`): if it is broad, see `overbroad-audience`.',
    'Have the AS require `resource` (reject with `invalid_target`, RFC 8707 §2.1) once clients comply.',
  ],
  params,
  dedupKey: ['client_id', 'event_type'],
  dedupWindowS: 86_400,
  evaluate(row, _state, ctx) {
    const request = row.event_type === 'authorization.requested' || isIssuance(row)
    if (!request) return []
    const invalid = row.requested_resources.filter((r) => !isResourceIndicator(r))
    if (invalid.length < row.requested_resources.length) return []
    // A refused request whose client the AS could not verify names a client_id anyone can claim.
    if (attribute(row, 'client_authenticated') === false) return []
    if (attribute(row, 'client_known') === false) return []
    if (ctx.params.ignoreGrantTypes.includes(row.grant_type)) return []
    const aud = row.granted_aud.length > 0 ? row.granted_aud : row.token_aud
    const mcp = aud.filter((a) => registryEntry(a, ctx.registry)?.kind === 'mcp')
    return [
      detect(
        row,
        { client_id: row.client_id, event_type: row.event_type },
        {
          reason: invalid.length === 0 ? 'absent' : 'not_absolute_uri',
          requested_resources: row.requested_resources,
          invalid_resources: invalid,
          grant_type: row.grant_type,
          requested_scopes: row.requested_scopes,
          granted_aud: aud,
          mcp_audiences: mcp,
          token_key: row.token_key,
          subject: row.subject,
        },
        { severity: mcp.length > 0 ? 'high' : 'medium' },
      ),
    ]
  },
  examples: [
    {
      name: 'an authorization request without resource',
      fires: true,
      severity: 'medium',
      events: [ev.authorization({ requested_resources: [] })],
    },
    {
      name: 'a refresh without resource that yields a token for a registered MCP server',
      fires: true,
      severity: 'high',
      registry: [{ resource: MCP, kind: 'mcp' }],
      events: [ev.issued({ grant_type: 'refresh_token', requested_resources: [] })],
    },
    {
      name: 'a client-credentials request without resource for an API',
      fires: true,
      severity: 'medium',
      registry: [{ resource: API, kind: 'api' }],
      events: [
        ev.issued({
          grant_type: 'client_credentials',
          token: token({ aud: [API] }),
          requested_resources: [],
          granted_aud: [API],
        }),
      ],
    },
    {
      name: 'an authorization request with an empty resource= and a token request with a relative one',
      fires: true,
      severity: 'medium',
      events: [
        ev.authorization({ requested_resources: [''] }),
        ev.issued({ requested_resources: ['/mcp'], client_id: 'agent-8' }),
      ],
    },
    {
      name: 'an empty value beside an absolute URI, and a URN resource',
      fires: false,
      events: [
        ev.authorization({ requested_resources: ['', MCP] }),
        ev.issued({ requested_resources: ['urn:example:mcp'], granted_aud: ['urn:example:mcp'] }),
      ],
    },
    {
      name: 'authorization and token requests that name the resource',
      fires: false,
      events: [ev.authorization(), ev.issued(), ev.presented()],
    },
    {
      name: 'a refused token request without resource from a client that proved who it is',
      fires: true,
      severity: 'medium',
      events: [
        ev.authorization({
          requested_resources: [],
          attributes: {
            endpoint: 'token',
            outcome: 'rejected',
            error: 'invalid_grant',
            client_authenticated: true,
          },
        }),
      ],
    },
    {
      name: 'refused requests in the name of a client nobody authenticated, or of an unknown one',
      fires: false,
      events: [
        ev.authorization({
          requested_resources: [],
          attributes: { endpoint: 'token', outcome: 'rejected', client_authenticated: false },
        }),
        ev.authorization({
          requested_resources: [],
          attributes: { endpoint: 'authorization', outcome: 'rejected', client_known: false },
        }),
      ],
    },
    {
      name: 'an ignored grant type',
      fires: false,
      params: { ignoreGrantTypes: ['urn:ietf:params:oauth:grant-type:device_code'] },
      events: [
        ev.issued({
          grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
          requested_resources: [],
        }),
      ],
    },
  ],
}
