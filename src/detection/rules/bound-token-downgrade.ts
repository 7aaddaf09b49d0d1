/** bound-token-downgrade: a sender-constrained token accepted without its proof of possession. */
import { z } from 'zod'
import type { EventRow } from '../../events/event-row.js'
import type { EventRule } from '../rule.js'
import { exampleEvents } from './lib/example-events.js'
import { detectAtResource, presentedWith, TOKEN_AT_RESOURCE } from './lib/presentations.js'
import {
  at,
  boundToken,
  CERT,
  proofEvidence,
  SENDER_REF,
  validProof,
} from './lib/sender-constraint.js'
import { token } from './lib/example-events.js'

const params = z.object({})
const ev = exampleEvents('bound-token-downgrade')

/** What the presentation lacked: the DPoP proof of a `jkt`-bound token, or the certificate of an `x5t#S256`-bound one. */
function downgrade(row: EventRow): string | undefined {
  if (row.proof_scheme === '') return undefined // a collector that records no proof facts
  if (row.token_cnf_jkt !== '' && row.proof_scheme !== 'DPoP') return 'dpop_bound_as_bearer'
  if (row.token_cnf_x5t !== '' && row.proof_cert_x5t === '') return 'mtls_bound_without_certificate'
  return undefined
}

export const boundTokenDowngrade: EventRule<typeof params> = {
  kind: 'event',
  id: 'bound-token-downgrade',
  title: 'Sender-constrained token accepted as a bearer token',
  severity: 'critical',
  description:
    'A resource server accepted a token bound to a key (`cnf.jkt`, RFC 9449) presented with the ' +
    '`Bearer` scheme and no DPoP proof, or a token bound to a client certificate (`cnf.x5t#S256`, ' +
    'RFC 8705) presented without a TLS client certificate. The binding comes from the presented ' +
    "token's `cnf` as the collector recorded it.",
  rationale:
    'A bound token is only as strong as the weakest server that accepts it: RFC 9449 §7.2 says a ' +
    'DPoP-bound token presented as a bearer token MUST be rejected, and RFC 8705 §3 that a ' +
    'certificate-bound token is refused without the matching certificate. A server that accepts ' +
    'the downgrade turns a stolen bound token back into a bearer credential, which is what binding ' +
    'was deployed to prevent (RFC 9700 §4.10.1, FAPI 2.0).',
  references: [
    SENDER_REF.rfc9449s72,
    SENDER_REF.rfc8705s3,
    SENDER_REF.rfc9700s41,
    SENDER_REF.fapi2,
  ],
  mappings: {
    owasp_nhi: ['NHI2', 'NHI4'],
    owasp_asi: ['ASI03'],
    nist_csf: ['PR.AA-03', 'PR.AA-04', 'DE.CM-09'],
    nist_800_53: ['IA-2(8)', 'IA-5', 'IA-9', 'SC-23'],
    nist_800_207: ['tenet-6'],
    mcp_2026_07_28: ['mcp-authz/token-theft'],
    mitre: ['T1550.001'],
  },
  falsePositives: [
    'A resource server still migrating to DPoP, in observe mode on purpose: the finding is the gap it measures.',
    'A TLS-terminating proxy in front of an mTLS resource that does not forward the client certificate to the host the collector runs in.',
  ],
  runbook: [
    'Check the server (`source_id`, `resource`) and its mode: enforce mode refuses the downgrade; observe mode only records it.',
    'Switch the server to enforce mode, or make its own validation check the DPoP proof (RFC 9449 §4.3) or the client certificate (RFC 8705 §3).',
    'A bound token presented without its proof may be stolen: compare the network (`ip`) and client with its other presentations; revoke the grant if they differ.',
  ],
  params,
  dedupKey: TOKEN_AT_RESOURCE,
  dedupWindowS: 3600,
  evaluate(row) {
    if (!presentedWith(row, 'accepted')) return []
    const kind = downgrade(row)
    if (kind === undefined) return []
    return [detectAtResource(row, { ...proofEvidence(row), downgrade: kind })]
  },
  examples: [
    {
      name: 'a DPoP-bound token accepted as Bearer (observe mode)',
      fires: true,
      severity: 'critical',
      events: [
        ev.presented({
          token: boundToken(),
          proof: { scheme: 'Bearer', verdict: 'invalid', failure: 'bound_token_as_bearer' },
        }),
      ],
    },
    {
      name: 'a certificate-bound token accepted without a client certificate',
      fires: true,
      events: [
        ev.presented({
          token: token({ cnf: { 'x5t#S256': CERT } }),
          proof: { scheme: 'Bearer', verdict: 'invalid', failure: 'cert_missing' },
        }),
      ],
    },
    {
      name: 'a DPoP-bound token with a valid proof',
      fires: false,
      events: [ev.presented({ token: boundToken(), proof: validProof() })],
    },
    {
      name: 'the downgrade refused (enforce mode)',
      fires: false,
      events: [
        ev.presented({
          occurred_at: at(5),
          token: boundToken(),
          decision: 'rejected',
          reason: 'other',
          http: { method: 'POST', path: '/mcp', status: 401 },
          proof: { scheme: 'Bearer', verdict: 'invalid', failure: 'bound_token_as_bearer' },
        }),
      ],
    },
    {
      name: 'an unbound bearer token',
      fires: false,
      events: [ev.presented({ proof: { scheme: 'Bearer', verdict: 'absent' } })],
    },
    {
      name: 'a certificate-bound token with its certificate',
      fires: false,
      events: [
        ev.presented({
          token: token({ cnf: { 'x5t#S256': CERT } }),
          proof: { scheme: 'Bearer', verdict: 'valid', cert_thumbprint: CERT },
        }),
      ],
    },
  ],
}
