/** unvalidated-audience: an RS accepted a token without checking its `aud`. */
import { z } from 'zod'
import type { EventRule } from '../rule.js'
import { exampleEvents } from './lib/example-events.js'
import { REF } from './lib/references.js'
import { detect, isPresentation, presentationEvidence } from './lib/rows.js'

const params = z.object({})
const ev = exampleEvents('unvalidated-audience')

export const unvalidatedAudience: EventRule<typeof params> = {
  kind: 'event',
  id: 'unvalidated-audience',
  title: 'Resource server accepts tokens without validating the audience',
  severity: 'high',
  description:
    'An RS or MCP server accepted a token and its collector reports `aud_validated: false`: the ' +
    'decision was taken without checking `aud`, whether or not this token happened to match. One ' +
    'finding per resource: it is a property of the server, not of the token.',
  rationale:
    'RFC 9068 §4 bullet 4 and RFC 7519 §4.1.3 make the `aud` check mandatory, and the MCP ' +
    'specification requires MCP servers to "validate that access tokens were issued specifically ' +
    'for them". A server that skips it accepts tokens minted for any other resource of the same ' +
    'AS (the first dimension of MCP Access Token Privilege Restriction).',
  references: [
    REF.rfc9068s4,
    REF.rfc7519s413,
    REF.rfc9700s23,
    REF.mcpTokenHandling,
    REF.mcpPrivilege,
  ],
  mappings: {
    owasp_nhi: ['NHI4', 'NHI6'],
    owasp_asi: ['ASI03'],
    nist_csf: ['PR.AA-03', 'PR.AA-04', 'PR.AA-05'],
    nist_800_53: ['AC-3', 'AC-24', 'IA-9'],
    nist_800_207: ['tenet-3', 'tenet-6'],
    mcp_2026_07_28: ['mcp-authz/token-handling', 'mcp-authz/access-token-privilege-restriction'],
    mitre: [],
  },
  falsePositives: [
    'A collector in observe mode whose host application validates `aud` itself but was not ' +
      'configured with `appValidatesAudience: true`.',
    'A gateway in front of the RS that validates `aud` before the request arrives.',
  ],
  runbook: [
    'Find the server (`resource`, `source_id`) and how it validates tokens.',
    "Enable audience validation against the server's own resource identifier (RFC 9068 §4).",
    'If validation happens elsewhere (gateway, application), record that in the collector configuration.',
  ],
  params,
  dedupKey: ['resource'],
  dedupWindowS: 86_400,
  evaluate(row) {
    if (!isPresentation(row) || row.decision !== 'accepted' || row.aud_validated !== false)
      return []
    return [detect(row, { resource: row.resource_canonical }, presentationEvidence(row))]
  },
  examples: [
    {
      name: 'an observe-mode server that does not check aud',
      fires: true,
      events: [ev.presented({ aud_validated: false })],
    },
    {
      name: 'a server that validates aud',
      fires: false,
      events: [ev.presented()],
    },
    {
      name: 'an unvalidated request that was rejected for another reason',
      fires: false,
      events: [ev.presented({ aud_validated: false, decision: 'rejected', reason: 'expired' })],
    },
  ],
}
