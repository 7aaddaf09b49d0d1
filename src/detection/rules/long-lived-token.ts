/** long-lived-token: an access token living longer than policy (`exp - iat`), or a JWT without `exp`. */
import { z } from 'zod'
import type { EventRule } from '../rule.js'
import { exampleEvents, BASE_EPOCH_S, token } from './lib/example-events.js'
import { REF } from './lib/references.js'
import { detect, mintedToken } from './lib/rows.js'

const params = z.object({
  maxLifetimeS: z
    .number()
    .int()
    .positive()
    .default(3600)
    .describe('longest acceptable access-token lifetime, in seconds'),
  flagMissingExp: z
    .boolean()
    .default(true)
    .describe(
      'also report JWT access tokens that carry no `exp` at all (RFC 9068 §2.2 makes it REQUIRED)',
    ),
})
const ev = exampleEvents('long-lived-token')

export const longLivedToken: EventRule<typeof params> = {
  kind: 'event',
  id: 'long-lived-token',
  title: 'Long-lived access token',
  severity: 'low',
  description:
    'An access token was issued (or, when issuance was not seen, first presented) with ' +
    '`exp - iat` above the threshold (default one hour), or as a JWT without `exp`. One finding ' +
    'per client: lifetimes are AS policy per client.',
  rationale:
    'Short lifetimes bound what a leaked token can do: the MCP specification says authorization ' +
    'servers "SHOULD issue short-lived access tokens" (Token Theft), RFC 9068 §2.2 makes `exp` ' +
    'REQUIRED, and OWASP NHI7 lists tokens "with expiration dates that are too far in the future".',
  references: [REF.mcpTokenTheft, REF.rfc9068s22],
  mappings: {
    owasp_nhi: ['NHI7'],
    owasp_asi: ['ASI03'],
    nist_csf: ['PR.AA-01', 'PR.AA-05'],
    nist_800_53: ['IA-5', 'AC-12', 'IA-11'],
    nist_800_207: ['tenet-3', 'tenet-6'],
    mcp_2026_07_28: ['mcp-authz/token-theft'],
    mitre: [],
  },
  falsePositives: [
    'Machine-to-machine clients on a private network where longer lifetimes are an accepted risk: ' +
      'add an exception for the client, with an owner and an expiry.',
  ],
  runbook: [
    "Check the AS's access-token lifetime for the client (`lifetime_s` in the evidence).",
    'Shorten it and rely on refresh tokens (rotated for public clients, per the MCP specification).',
  ],
  params,
  dedupKey: ['client_id'],
  dedupWindowS: 86_400,
  evaluate(row, state, ctx) {
    const minted = mintedToken(row, state)
    if (minted === undefined) return []
    const noExp = minted.exp === null && row.token_format === 'jwt' && ctx.params.flagMissingExp
    const lifetimeS =
      minted.exp !== null && minted.iat !== null ? minted.exp - minted.iat : undefined
    if (!noExp && (lifetimeS === undefined || lifetimeS <= ctx.params.maxLifetimeS)) return []
    return [
      detect(
        row,
        { client_id: row.client_id },
        {
          reason: noExp ? 'no_exp' : 'lifetime_above_threshold',
          lifetime_s: lifetimeS ?? null,
          max_lifetime_s: ctx.params.maxLifetimeS,
          token_key: row.token_key,
          aud: minted.aud,
          grant_type: row.grant_type,
          seen_on: minted.via,
        },
      ),
    ]
  },
  examples: [
    {
      name: 'a token valid for a day',
      fires: true,
      events: [ev.issued({ token: token({ exp: BASE_EPOCH_S + 86_400 }) })],
    },
    {
      name: 'a JWT access token without exp',
      fires: true,
      events: [ev.issued({ token: token({ exp: undefined }) })],
    },
    {
      name: 'a fifteen-minute token, issued then presented',
      fires: false,
      events: [ev.issued(), ev.presented()],
    },
    {
      name: 'a two-hour token under a raised threshold',
      fires: false,
      params: { maxLifetimeS: 7200 },
      events: [ev.presented({ token: token({ exp: BASE_EPOCH_S + 7200 }) })],
    },
  ],
}
