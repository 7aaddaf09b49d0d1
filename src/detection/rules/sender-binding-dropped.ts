/** sender-binding-dropped: a client whose tokens were sender-constrained gets or uses an unbound one. */
import { z } from 'zod'
import type { ScheduledRule } from '../rule.js'
import { exampleEvents, token } from './lib/example-events.js'
import { lookbackDays, maxResults } from './lib/params.js'
import { resultDetection } from './lib/scheduled.js'
import { at, boundToken, CERT, SENDER_REF } from './lib/sender-constraint.js'

const DAY_S = 86_400
const params = z.object({
  minBoundTokens: z
    .number()
    .int()
    .min(1)
    .default(3)
    .describe('distinct bound tokens of the client, and no unbound one, before it counts as bound'),
  lookbackDays: lookbackDays("how far back a client's tokens are looked at, in days"),
  maxResults: maxResults(),
})
const ev = exampleEvents('sender-binding-dropped')
/** An issuance to `agent-7` at `seconds`, of token `jti`, bound (DPoP) or not. */
const issue = (seconds: number, jti: string, bound: boolean | 'mtls') =>
  ev.issued({
    occurred_at: at(seconds),
    token:
      bound === 'mtls'
        ? token({ jti, cnf: { 'x5t#S256': CERT } })
        : bound
          ? boundToken({ jti })
          : token({ jti }),
  })

export const senderBindingDropped: ScheduledRule<typeof params> = {
  kind: 'scheduled',
  id: 'sender-binding-dropped',
  title: 'Client stopped using sender-constrained tokens',
  severity: 'high',
  description:
    'A client whose tokens were all sender-constrained (DPoP `cnf.jkt` or certificate ' +
    '`cnf.x5t#S256`), at least `minBoundTokens` of them within `lookbackDays`, got or used a ' +
    'token without a binding. Issuance and accepted presentations count.',
  rationale:
    'Sender-constraining protects a client only while every one of its tokens is bound. A client ' +
    'that suddenly gets bearer tokens was reconfigured, downgraded by an attacker who holds its ' +
    'credentials but not its key, or served by an AS that stopped requiring DPoP or mTLS for it ' +
    '(RFC 9449 §5 `dpop_bound_access_tokens`, RFC 8705 §3.4): FAPI 2.0 deployments must not ' +
    'fall back to bearer tokens.',
  references: [SENDER_REF.rfc9449s6, SENDER_REF.rfc8705s3, SENDER_REF.rfc9700s41, SENDER_REF.fapi2],
  mappings: {
    owasp_nhi: ['NHI2', 'NHI4'],
    owasp_asi: ['ASI03'],
    nist_csf: ['DE.CM-09', 'DE.AE-02', 'PR.AA-03', 'PR.AA-04'],
    nist_800_53: ['IA-5', 'SC-23', 'CM-6'],
    nist_800_207: ['tenet-6'],
    mcp_2026_07_28: ['mcp-authz/token-theft'],
    mitre: ['T1550.001'],
  },
  falsePositives: [
    'A client deliberately moved back to bearer tokens (a migration rolled back): add an exception for the client with an owner and expiry.',
    'A client using both bound and unbound tokens by design for different resources is not flagged once it has unbound tokens before.',
  ],
  runbook: [
    'Check the unbound tokens (`resources`, grant type) and when the client changed: a deployment, a new client version, a new AS policy.',
    'Require binding at the AS for the client (oidc-provider `dpop_bound_access_tokens`, `tls_client_certificate_bound_access_tokens`) so a bearer token cannot be issued to it.',
    "If nobody changed the client, treat its credentials as compromised: rotate them and review the unbound tokens' use.",
  ],
  params,
  dedupKey: ['client_id'],
  dedupWindowS: DAY_S,
  sql: 'sender-binding-dropped',
  queryParams: (p) => ({
    min_bound: p.minBoundTokens,
    lookback_s: p.lookbackDays * DAY_S,
    max_results: p.maxResults,
  }),
  toDetection(row) {
    return resultDetection(
      row,
      'last_unbound',
      { client_id: String(row.client_id) },
      {
        binding: row.binding,
        bound_tokens: Number(row.bound_tokens),
        unbound_tokens: Number(row.unbound_tokens),
        resources: row.resources,
        first_unbound: row.first_unbound,
      },
    )
  },
  examples: [
    {
      name: 'three DPoP-bound tokens, then a bearer token',
      fires: true,
      events: [
        issue(0, 'at-1', true),
        issue(600, 'at-2', true),
        issue(1200, 'at-3', true),
        issue(1800, 'at-4', false),
      ],
    },
    {
      name: 'certificate-bound tokens, then an unbound one used at the MCP server',
      fires: true,
      events: [
        issue(0, 'at-1', 'mtls'),
        issue(600, 'at-2', 'mtls'),
        issue(1200, 'at-3', 'mtls'),
        ev.presented({ occurred_at: at(1300), token: token({ jti: 'at-9' }) }),
      ],
    },
    {
      name: 'a client that always used bearer tokens',
      fires: false,
      events: [issue(0, 'at-1', false), issue(600, 'at-2', false), issue(1200, 'at-3', false)],
    },
    {
      name: 'a client that mixes bound and bearer tokens from the start',
      fires: false,
      events: [
        issue(0, 'at-1', true),
        issue(300, 'at-0', false),
        issue(600, 'at-2', true),
        issue(1200, 'at-3', true),
        issue(1800, 'at-4', false),
      ],
    },
    {
      name: 'too little history to call the client bound',
      fires: false,
      events: [issue(0, 'at-1', true), issue(600, 'at-2', false)],
    },
  ],
}
