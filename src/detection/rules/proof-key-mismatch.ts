/** proof-key-mismatch: the key that proved possession is not the key the token is bound to. */
import { z } from 'zod'
import type { EventRow } from '../../events/event-row.js'
import type { EventRule } from '../rule.js'
import { exampleEvents, token } from './lib/example-events.js'
import { detectAtResource, TOKEN_AT_RESOURCE } from './lib/presentations.js'
import { isPresentation } from './lib/rows.js'
import {
  boundToken,
  CERT,
  OTHER_CERT,
  OTHER_JKT,
  proofEvidence,
  SENDER_REF,
  validProof,
} from './lib/sender-constraint.js'

const params = z.object({})
const ev = exampleEvents('proof-key-mismatch')

function mismatch(row: EventRow): string | undefined {
  if (row.token_cnf_jkt !== '' && row.proof_jkt !== '' && row.proof_jkt !== row.token_cnf_jkt)
    return 'jkt'
  if (
    row.token_cnf_x5t !== '' &&
    row.proof_cert_x5t !== '' &&
    row.proof_cert_x5t !== row.token_cnf_x5t
  )
    return 'x5t#S256'
  return undefined
}

export const proofKeyMismatch: EventRule<typeof params> = {
  kind: 'event',
  id: 'proof-key-mismatch',
  title: 'Proof of possession by another key than the token is bound to',
  severity: 'high',
  description:
    "A presentation's DPoP proof was signed by a key whose thumbprint is not the token's " +
    '`cnf.jkt`, or its TLS client certificate is not the `cnf.x5t#S256` one. High when the server ' +
    'refused it, critical when it accepted it.',
  rationale:
    'Someone holds the token but not its key: the signature of a proof by their own key is valid, ' +
    "only the comparison with the token's confirmation (RFC 9449 §4.3 check 12, RFC 8705 §3) " +
    'tells the difference. It is the stolen-token attempt sender-constraining exists to stop; ' +
    'accepted, the server skips that comparison.',
  references: [SENDER_REF.rfc9449s43, SENDER_REF.rfc9449s6, SENDER_REF.rfc8705s3],
  mappings: {
    owasp_nhi: ['NHI2', 'NHI4'],
    owasp_asi: ['ASI03'],
    nist_csf: ['DE.CM-09', 'DE.AE-02', 'PR.AA-03', 'PR.AA-04'],
    nist_800_53: ['IA-2(8)', 'IA-5', 'SC-23', 'SI-4'],
    nist_800_207: ['tenet-6'],
    mcp_2026_07_28: ['mcp-authz/token-theft'],
    mitre: ['T1550.001'],
  },
  falsePositives: [
    'A client that rotated its DPoP key while still holding a token bound to the old one (a client bug: it must request a new token).',
    'A certificate renewed while tokens bound to the old one are still in use (RFC 8705 §7.1 suggests short-lived tokens).',
  ],
  runbook: [
    'Compare the proof key (`proof.jkt` or `proof.cert_thumbprint`) with the token binding (`cnf`) and the client of the token.',
    'Treat the token as stolen: revoke its grant, find where it leaked, and look for other presentations of the proof key.',
    'If it was accepted, fix the server: it must compare the proof key with `cnf` (enforce mode does).',
  ],
  params,
  dedupKey: TOKEN_AT_RESOURCE,
  dedupWindowS: 3600,
  evaluate(row) {
    if (!isPresentation(row)) return []
    const which = mismatch(row)
    if (which === undefined) return []
    const severity = row.decision === 'accepted' ? 'critical' : 'high'
    return [{ ...detectAtResource(row, { ...proofEvidence(row), mismatch: which }), severity }]
  },
  examples: [
    {
      name: 'a proof by another key, refused',
      fires: true,
      severity: 'high',
      events: [
        ev.presented({
          token: boundToken(),
          decision: 'rejected',
          reason: 'other',
          http: { method: 'POST', path: '/mcp', status: 401 },
          proof: validProof(5, { verdict: 'invalid', failure: 'jkt_mismatch', jkt: OTHER_JKT }),
        }),
      ],
    },
    {
      name: 'a proof by another key, accepted by a server that does not compare',
      fires: true,
      severity: 'critical',
      events: [ev.presented({ token: boundToken(), proof: validProof(5, { jkt: OTHER_JKT }) })],
    },
    {
      name: 'another client certificate than the token is bound to',
      fires: true,
      events: [
        ev.presented({
          token: token({ cnf: { 'x5t#S256': CERT } }),
          decision: 'rejected',
          reason: 'other',
          proof: {
            scheme: 'Bearer',
            verdict: 'invalid',
            failure: 'cert_mismatch',
            cert_thumbprint: OTHER_CERT,
          },
        }),
      ],
    },
    {
      name: 'the proof key the token is bound to',
      fires: false,
      events: [ev.presented({ token: boundToken(), proof: validProof() })],
    },
    {
      name: 'a proof for an unbound token (nothing to compare)',
      fires: false,
      events: [
        ev.presented({ proof: validProof(5, { verdict: 'invalid', failure: 'token_not_bound' }) }),
      ],
    },
  ],
}
