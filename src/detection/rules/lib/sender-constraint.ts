/** What the sender-constraint rules (DPoP, RFC 9449; mTLS, RFC 8705) share: references, examples. */
import type { EventRow } from '../../../events/event-row.js'
import { at, BASE_EPOCH_S, MCP, token } from './example-events.js'
import { presentationEvidence } from './rows.js'

const RFC9449 = 'https://www.rfc-editor.org/rfc/rfc9449'
const RFC8705 = 'https://www.rfc-editor.org/rfc/rfc8705'

export const SENDER_REF = {
  rfc9449s43: `RFC 9449 §4.3 Checking DPoP Proofs (${RFC9449}#section-4.3)`,
  rfc9449s6: `RFC 9449 §6 Public Key Confirmation ("cnf" "jkt") (${RFC9449}#section-6)`,
  rfc9449s71: `RFC 9449 §7.1 The DPoP Authentication Scheme (${RFC9449}#section-7.1)`,
  rfc9449s72: `RFC 9449 §7.2 Compatibility with the Bearer Authentication Scheme (a DPoP-bound token presented as a bearer token MUST be rejected) (${RFC9449}#section-7.2)`,
  rfc9449s111: `RFC 9449 §11.1 DPoP Proof Replay (${RFC9449}#section-11.1)`,
  rfc9449s117: `RFC 9449 §11.7 Request Integrity (htm, htu) (${RFC9449}#section-11.7)`,
  rfc8705s3: `RFC 8705 §3 Mutual-TLS Client Certificate-Bound Access Tokens (${RFC8705}#section-3)`,
  rfc9700s41:
    'RFC 9700 §4.10.1 Sender-Constrained Access Tokens (https://www.rfc-editor.org/rfc/rfc9700#section-4.10.1)',
  fapi2:
    'FAPI 2.0 Security Profile §5.3.2.1, §5.3.3 (sender-constrained access tokens with DPoP or MTLS) (https://openid.net/specs/fapi-security-profile-2_0-final.html)',
} as const

/** A client key thumbprint (RFC 7638) and another one, for examples. */
export const JKT = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiGQA4I'
export const OTHER_JKT = 'twoU7h4V16qUvYEOwG9Mt3o0bo8zrva_6uPXxEQtepM'
export const CERT = '7DFoL95WGReVL_eKeore_9D-vDct0mhxkWxGxjA4G0U'
export const OTHER_CERT = 'hE7MCBZOLqsnY0qa3uGvplmeWJVw5xl4TggM50f8DkU'
export const PROOF_JTI = 'hEtpxNVMwmS8La22u3D1O8Ejvq_A9Y2B7YzUoHwkpac'

/** A DPoP-bound token (cnf.jkt), 15 minutes long, issued at the base time. */
export function boundToken(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return token({ cnf: { jkt: JKT }, ...overrides })
}

/** The proof facts of a valid DPoP presentation at the MCP server, `seconds` after the base time. */
export function validProof(
  seconds = 5,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    scheme: 'DPoP',
    verdict: 'valid',
    jti_fingerprint: PROOF_JTI,
    iat: BASE_EPOCH_S + seconds,
    htm: 'POST',
    htu: MCP,
    ath: 'match',
    alg: 'ES256',
    jkt: JKT,
    ...overrides,
  }
}

export { at }

/** A presentation's evidence with its confirmation and proof facts. */
export function proofEvidence(row: EventRow): Record<string, unknown> {
  return {
    ...presentationEvidence(row),
    cnf: {
      ...(row.token_cnf_jkt !== '' && { jkt: row.token_cnf_jkt }),
      ...(row.token_cnf_x5t !== '' && { 'x5t#S256': row.token_cnf_x5t }),
    },
    proof: {
      scheme: row.proof_scheme,
      verdict: row.proof_verdict,
      ...(row.proof_failure !== '' && { failure: row.proof_failure }),
      ...(row.proof_jkt !== '' && { jkt: row.proof_jkt }),
      ...(row.proof_cert_x5t !== '' && { cert_thumbprint: row.proof_cert_x5t }),
      ...(row.proof_htm !== '' && { htm: row.proof_htm }),
      ...(row.proof_htu !== '' && { htu: row.proof_htu }),
      ...(row.proof_jti !== '' && { jti_fingerprint: row.proof_jti }),
    },
  }
}
