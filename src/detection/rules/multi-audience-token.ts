/** multi-audience-token: a token issued or presented with more than one canonical audience. */
import { z } from 'zod'
import type { EventRule } from '../rule.js'
import { exampleEvents, API, MCP, token } from './lib/example-events.js'
import { REF } from './lib/references.js'
import { canonicalSet, distinctResources, registryEntry } from './lib/resources.js'
import { detect, mintedToken } from './lib/rows.js'

const params = z.object({})
const ev = exampleEvents('multi-audience-token')
const TWO = {
  token: token({ aud: [MCP, API] }),
  requested_resources: [MCP, API],
  granted_aud: [MCP, API],
}

export const multiAudienceToken: EventRule<typeof params> = {
  kind: 'event',
  id: 'multi-audience-token',
  title: 'Token with more than one audience',
  severity: 'medium',
  description:
    'A token was issued (or, when its issuance was not seen, first presented) with more than one ' +
    'distinct resource in `aud`: spellings with one canonical form and aliases of one registered ' +
    'resource count once. No finding when every audience is registered with ' +
    '`multi_audience_allowed: true`.',
  rationale:
    'RFC 8707 §3: a token with several audiences "is valid at more than one protected resource ' +
    'and can be used by any one of those resources to access any of the others", so "using only ' +
    'a single resource parameter is encouraged". RFC 9700 §2.3 asks for a specific resource ' +
    'server or a small set, and the MCP specification binds each token to one MCP server.',
  references: [REF.rfc8707s3, REF.rfc9068s5, REF.rfc9700s23, REF.mcpResourceParam],
  mappings: {
    owasp_nhi: ['NHI5', 'NHI9'],
    owasp_asi: ['ASI03'],
    nist_csf: ['PR.AA-05'],
    nist_800_53: ['AC-6', 'AC-3'],
    nist_800_207: ['tenet-3'],
    mcp_2026_07_28: ['mcp-authz/resource-parameter'],
    mitre: [],
  },
  falsePositives: [
    'Resources that are one trust domain by design (an API and its gateway): register them with ' +
      '`multi_audience_allowed: true`.',
    'An AS that adds two spellings of one resource (`/mcp` and `/mcp/`) to work around exact-match ' +
      'RSs: that is drift, and the token really is valid under both identifiers.',
  ],
  runbook: [
    'See which client asked for several resources (`requested_resources`) or whether the AS added them itself.',
    'Prefer one token per resource (RFC 8707 §3); if the set is intended, register it as multi-audience.',
  ],
  params,
  dedupKey: ['client_id', 'audience'],
  dedupWindowS: 86_400,
  evaluate(row, state, ctx) {
    const minted = mintedToken(row, state)
    if (minted === undefined) return []
    const resources = distinctResources(minted.aud, ctx.registry)
    if (resources.length < 2) return []
    const allowed = resources.every(
      (r) => registryEntry(r, ctx.registry)?.multi_audience_allowed === true,
    )
    if (allowed) return []
    const audience = canonicalSet(resources).sort()
    return [
      detect(
        row,
        { client_id: row.client_id, audience: audience.join(' ') },
        {
          token_key: row.token_key,
          seen_on: minted.via,
          aud: minted.aud,
          aud_resources: audience,
          requested_resources: row.requested_resources,
          not_allowed: resources.filter(
            (r) => registryEntry(r, ctx.registry)?.multi_audience_allowed !== true,
          ),
        },
      ),
    ]
  },
  examples: [
    {
      name: 'a token issued for the MCP server and the API',
      fires: true,
      events: [ev.issued({ ...TWO, requested_resources: [MCP, API] })],
    },
    {
      name: 'a two-audience token first seen at a server',
      fires: true,
      events: [ev.presented({ token: token({ aud: [MCP, API] }), presented_aud: [MCP, API] })],
    },
    {
      name: 'a declared multi-audience pair',
      fires: false,
      registry: [
        { resource: MCP, multi_audience_allowed: true },
        { resource: API, multi_audience_allowed: true },
      ],
      events: [ev.issued(TWO), ev.presented({ token: TWO.token, presented_aud: [MCP, API] })],
    },
    {
      name: 'a resource and its registered alias are one audience',
      fires: false,
      registry: [{ resource: MCP, aliases: ['api://files-mcp'] }],
      events: [
        ev.issued({
          token: token({ aud: [MCP, 'api://files-mcp'] }),
          granted_aud: [MCP, 'api://files-mcp'],
        }),
      ],
    },
    {
      name: 'later presentations of an issued single-audience token',
      fires: false,
      events: [ev.issued(), ev.presented(), ev.presented()],
    },
  ],
}
