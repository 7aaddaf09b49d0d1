/** aud-mismatch-accepted: an RS served a request with a token minted for another resource. */
import { z } from 'zod'
import type { EventRule } from '../rule.js'
import { exampleEvents, API, MCP, token } from './lib/example-events.js'
import { detectAtResource, presentedWith, TOKEN_AT_RESOURCE } from './lib/presentations.js'
import { REF } from './lib/references.js'
import { audienceMatch } from './lib/resources.js'
import { presentationEvidence } from './lib/rows.js'

const params = z.object({})
const ev = exampleEvents('aud-mismatch-accepted')

export const audMismatchAccepted: EventRule<typeof params> = {
  kind: 'event',
  id: 'aud-mismatch-accepted',
  title: 'Resource server accepted a token minted for another resource',
  severity: 'critical',
  description:
    "An RS or MCP server accepted a token whose presented `aud` contains neither the server's own " +
    'resource identifier nor a registered alias of it (class `different`). Drift (`equivalent`, ' +
    '`variant`) is not a mismatch; `resource-uri-drift` reports it.',
  rationale:
    'Audience restriction only protects if the RS enforces it: RFC 9068 §4 and RFC 7519 §4.1.3 ' +
    'require rejecting a token whose `aud` does not name the RS, and the MCP specification makes ' +
    'MCP servers reject tokens not issued for them. Accepting one breaks the boundary RFC 8707 §3 ' +
    'relies on: a token legitimately given to one resource is being used at another.',
  references: [
    REF.rfc9068s4,
    REF.rfc7519s413,
    REF.rfc8707s3,
    REF.rfc9700s23,
    REF.mcpTokenHandling,
    REF.mcpPrivilege,
    REF.mcpPassthrough,
  ],
  mappings: {
    owasp_nhi: ['NHI4', 'NHI6'],
    owasp_asi: ['ASI03'],
    nist_csf: ['PR.AA-03', 'PR.AA-04', 'PR.AA-05', 'DE.CM-09', 'DE.AE-02'],
    nist_800_53: ['AC-3', 'AC-24', 'IA-9', 'SC-23', 'AU-2', 'AU-3', 'AU-12'],
    nist_800_207: ['tenet-3', 'tenet-6'],
    mcp_2026_07_28: [
      'mcp-authz/token-handling',
      'mcp-authz/access-token-privilege-restriction',
      'mcp-authz/token-passthrough',
    ],
    mitre: ['T1550.001'],
  },
  falsePositives: [
    'The AS uses an abstract audience (client-id style, `api://...`) for this RS that the resource ' +
      'registry does not list as an alias yet: add the alias.',
    'The RS is configured with a wrong resource identifier (the collector reports that value).',
  ],
  runbook: [
    'Confirm in the evidence which resource the token was minted for (`presented_aud`) and where it was accepted (`resource`).',
    "Check the RS's audience validation: it must compare `aud` against its own identifier (RFC 9068 §4).",
    'Treat the token as compromised: revoke it and the grant behind it; review what the request accessed.',
    'If the audience is a legitimate alias, add it to the resource registry and mark the finding false positive.',
  ],
  params,
  dedupKey: TOKEN_AT_RESOURCE,
  dedupWindowS: 3600,
  evaluate(row, _state, ctx) {
    if (!presentedWith(row, 'accepted')) return []
    if (audienceMatch(row, ctx.registry) !== 'different') return []
    return [detectAtResource(row, presentationEvidence(row))]
  },
  examples: [
    {
      name: 'a token for the API accepted by the MCP server',
      fires: true,
      events: [ev.presented({ token: token({ aud: [API] }), presented_aud: [API] })],
    },
    {
      name: 'a token for the MCP server accepted there',
      fires: false,
      events: [ev.presented()],
    },
    {
      name: 'a registered alias of the MCP server as aud',
      fires: false,
      registry: [{ resource: MCP, aliases: ['api://files-mcp'] }],
      events: [
        ev.presented({
          token: token({ aud: ['api://files-mcp'] }),
          presented_aud: ['api://files-mcp'],
        }),
      ],
    },
    {
      name: 'a trailing-slash variant is drift, not a mismatch',
      fires: false,
      events: [ev.presented({ token: token({ aud: [`${MCP}/`] }), presented_aud: [`${MCP}/`] })],
    },
    {
      name: 'a mismatching token that was rejected',
      fires: false,
      events: [
        ev.presented({
          token: token({ aud: [API] }),
          presented_aud: [API],
          decision: 'rejected',
          reason: 'aud_mismatch',
          http: { method: 'POST', path: '/mcp', status: 401 },
        }),
      ],
    },
  ],
}
