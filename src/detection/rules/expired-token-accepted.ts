/** expired-token-accepted: an RS accepted a token past its `exp` (beyond the clock-skew leeway). */
import { z } from 'zod'
import type { EventRule } from '../rule.js'
import { rowTime } from '../token-state.js'
import { exampleEvents, at, BASE_EPOCH_S, token } from './lib/example-events.js'
import { detectAtResource, presentedWith, TOKEN_AT_RESOURCE } from './lib/presentations.js'
import { REF } from './lib/references.js'
import { presentationEvidence } from './lib/rows.js'

const params = z.object({
  clockSkewS: z
    .number()
    .int()
    .min(0)
    .default(60)
    .describe('leeway for clock skew between AS and RS, in seconds (RFC 9068 §4: "small leeway")'),
})
const ev = exampleEvents('expired-token-accepted')

export const expiredTokenAccepted: EventRule<typeof params> = {
  kind: 'event',
  id: 'expired-token-accepted',
  title: 'Resource server accepted an expired token',
  severity: 'critical',
  description:
    "An RS or MCP server accepted a token whose `exp` lies before the request's `occurred_at` by " +
    'more than the clock-skew leeway. The expiry comes from the presented token, else from the ' +
    "token's issuance.",
  rationale:
    'RFC 9068 §4: "The current time MUST be before the time represented by the "exp" claim", with ' +
    'a small leeway for clock skew; RFC 6749 §7 and the MCP specification ("Invalid or expired ' +
    'tokens MUST receive a HTTP 401 response") say the same. An RS that skips the check turns every ' +
    'leaked token into a permanent credential.',
  references: [REF.rfc9068s4, REF.rfc6749s7, REF.mcpTokenHandling],
  mappings: {
    owasp_nhi: ['NHI4', 'NHI7'],
    owasp_asi: ['ASI03'],
    nist_csf: ['PR.AA-03', 'PR.AA-04'],
    nist_800_53: ['IA-5', 'AC-3', 'AC-12', 'SC-23'],
    nist_800_207: ['tenet-6'],
    mcp_2026_07_28: ['mcp-authz/token-handling'],
    mitre: ['T1550.001'],
  },
  falsePositives: [
    'A clock on the RS or its collector far off: compare `occurred_at` with `received_at` for the same source.',
    'An introspection cache that keeps a token active for its cache lifetime beyond `exp`.',
  ],
  runbook: [
    'Check how far past expiry the token was (`seconds_past_exp`) and the RS clock.',
    'Fix the RS validation: `exp` must be enforced (RFC 9068 §4 bullet 6).',
    'A token used long after expiry is likely stolen: revoke the grant and review the requests.',
  ],
  params,
  dedupKey: TOKEN_AT_RESOURCE,
  dedupWindowS: 3600,
  evaluate(row, state, ctx) {
    if (!presentedWith(row, 'accepted')) return []
    const exp = row.token_exp ?? state?.exp
    if (exp === undefined) return []
    const pastS = Math.floor(rowTime(row.occurred_at) / 1000) - exp
    if (pastS <= ctx.params.clockSkewS) return []
    return [
      detectAtResource(row, {
        ...presentationEvidence(row),
        exp: new Date(exp * 1000).toISOString(),
        seconds_past_exp: pastS,
        clock_skew_s: ctx.params.clockSkewS,
      }),
    ]
  },
  examples: [
    {
      name: 'accepted ten minutes after expiry',
      fires: true,
      events: [ev.presented({ occurred_at: at(900 + 600) })],
    },
    {
      name: 'accepted after the expiry known from issuance, the presentation carrying no exp',
      fires: true,
      events: [
        ev.issued(),
        ev.presented({
          occurred_at: at(900 + 120),
          token: { jti: 'at-1', aud: ['https://mcp.example.com/mcp'] },
        }),
      ],
    },
    {
      name: 'clock skew inside the leeway',
      fires: false,
      events: [ev.presented({ occurred_at: at(900 + 45) })],
    },
    {
      name: 'an expired token rejected',
      fires: false,
      events: [
        ev.presented({
          occurred_at: at(900 + 600),
          decision: 'rejected',
          reason: 'expired',
          http: { method: 'POST', path: '/mcp', status: 401 },
        }),
      ],
    },
    {
      name: 'a stricter leeway as a parameter still lets a valid token through',
      fires: false,
      params: { clockSkewS: 0 },
      events: [ev.presented({ token: token({ exp: BASE_EPOCH_S + 3600 }) })],
    },
  ],
}
