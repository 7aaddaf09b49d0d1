/** aud-mismatch-rejected: an RS refused a token minted for another resource (an attempt). */
import { z } from 'zod'
import type { EventRule } from '../rule.js'
import { exampleEvents, API, MCP, token } from './lib/example-events.js'
import { detectAtResource, presentedWith, TOKEN_AT_RESOURCE } from './lib/presentations.js'
import { REF } from './lib/references.js'
import { audienceMatch } from './lib/resources.js'
import { presentationEvidence } from './lib/rows.js'

const params = z.object({})
const ev = exampleEvents('aud-mismatch-rejected')
const REJECTED = {
  decision: 'rejected',
  reason: 'aud_mismatch',
  http: { method: 'POST', path: '/mcp', status: 401 },
}

export const audMismatchRejected: EventRule<typeof params> = {
  kind: 'event',
  id: 'aud-mismatch-rejected',
  title: 'Resource server rejected a token minted for another resource',
  severity: 'medium',
  description:
    'An RS or MCP server rejected a token whose `aud` names a different resource (class `different`, ' +
    'alias-aware), or, when the collector could not see the `aud`, rejected it with reason ' +
    '`aud_mismatch`. The control worked; the attempt is still worth knowing about.',
  rationale:
    'A token minted for one resource showing up at another means it left its intended path: a ' +
    'misconfigured client, a malicious server replaying what it received (RFC 9728 §7.4, RFC 8707 ' +
    '§3), or a stolen token being tried. Failed access attempts are an early signal (CSF DE.CM-03).',
  references: [REF.rfc9068s4, REF.rfc8707s3, REF.rfc9728s74, REF.mcpTokenHandling],
  mappings: {
    owasp_nhi: ['NHI2', 'NHI9'],
    owasp_asi: ['ASI03'],
    nist_csf: ['DE.CM-03', 'DE.CM-09', 'DE.AE-02', 'DE.AE-03', 'DE.AE-06'],
    nist_800_53: ['SI-4', 'AU-6', 'AU-6(3)', 'IR-4', 'IR-5'],
    nist_800_207: ['tenet-6', 'tenet-7'],
    mcp_2026_07_28: ['mcp-authz/token-handling'],
    mitre: ['T1550.001', 'T1528'],
  },
  falsePositives: [
    'A client that keeps one token for several servers by mistake (it should request one per ' +
      'resource): the `client_id` repeats across findings.',
    'An abstract audience the registry does not list as an alias of this resource yet.',
  ],
  runbook: [
    'Find where the token was minted for (`presented_aud`) and whether it was also used there (the token timeline).',
    'Several servers in a short time point at replay: see `cross-audience-replay` for the same token key.',
    'If the client is misconfigured, have it request one token per resource (RFC 8707 `resource`).',
  ],
  params,
  dedupKey: TOKEN_AT_RESOURCE,
  dedupWindowS: 3600,
  evaluate(row, _state, ctx) {
    if (!presentedWith(row, 'rejected')) return []
    const match = audienceMatch(row, ctx.registry)
    if (match !== 'different' && !(match === '' && row.reason === 'aud_mismatch')) return []
    return [detectAtResource(row, presentationEvidence(row))]
  },
  examples: [
    {
      name: 'a token for the API rejected by the MCP server',
      fires: true,
      events: [ev.presented({ token: token({ aud: [API] }), presented_aud: [API], ...REJECTED })],
    },
    {
      name: 'an opaque token the RS rejected for its audience',
      fires: true,
      events: [ev.presented({ token: token({ aud: undefined }), presented_aud: [], ...REJECTED })],
    },
    {
      name: 'a trailing-slash variant rejected by an exact-match RS is drift',
      fires: false,
      events: [
        ev.presented({
          token: token({ aud: [`${MCP}/`] }),
          presented_aud: [`${MCP}/`],
          ...REJECTED,
        }),
      ],
    },
    {
      name: 'a correctly bound token rejected because it expired',
      fires: false,
      events: [ev.presented({ decision: 'rejected', reason: 'expired' })],
    },
  ],
}
