/** NIST SP 800-53 Rev. 5: controls and enhancements with their titles (docs/spec/frameworks.md). */
import { defineFramework } from './framework.js'

const AUDIENCE = ['aud_validation_coverage', 'accepted_mismatches'] as const
const LIFETIME = ['token_lifetime_p50_s', 'token_lifetime_p95_s'] as const
const DRIFT = ['drifted_resources'] as const
/** Sender-constrained tokens (RFC 9449 DPoP, RFC 8705 mTLS): docs/design/sender-constraint-coverage.md. */
const SENDER = [
  'sender_constrained_token_share',
  'proof_of_possession_coverage',
  'unproven_bound_presentations',
] as const

export default defineFramework({
  id: 'nist-800-53r5',
  title: 'NIST SP 800-53 Rev. 5',
  order: 40,
  label: 'NIST SP 800-53 Rev. 5, Security and Privacy Controls',
  source: {
    title:
      'NIST SP 800-53 Rev. 5, Security and Privacy Controls for Information Systems and Organizations',
    publisher: 'National Institute of Standards and Technology',
    version: 'Revision 5, September 2020',
    url: 'https://doi.org/10.6028/NIST.SP.800-53r5',
  },
  mapping: { key: 'nist_800_53', label: 'NIST SP 800-53 Rev. 5' },
  ids: {
    'AC-2': 'Account Management',
    'AC-3': 'Access Enforcement',
    'AC-4': 'Information Flow Enforcement',
    'AC-6': 'Least Privilege',
    'AC-6(9)': 'Log Use of Privileged Functions',
    'AC-12': 'Session Termination',
    'AC-16': 'Security and Privacy Attributes',
    'AC-24': 'Access Control Decisions',
    'AU-2': 'Event Logging',
    'AU-3': 'Content of Audit Records',
    'AU-3(1)': 'Additional Audit Information',
    'AU-6': 'Audit Record Review, Analysis, and Reporting',
    'AU-6(3)': 'Correlate Audit Record Repositories',
    'AU-10': 'Non-repudiation',
    'AU-11': 'Audit Record Retention',
    'AU-12': 'Audit Record Generation',
    'CA-7': 'Continuous Monitoring',
    'CM-2': 'Baseline Configuration',
    'CM-6': 'Configuration Settings',
    'CM-8': 'System Component Inventory',
    'IA-2': 'Identification and Authentication (Organizational Users)',
    'IA-2(8)': 'Access to Accounts — Replay Resistant',
    'IA-4': 'Identifier Management',
    'IA-5': 'Authenticator Management',
    'IA-5(13)': 'Expiration of Cached Authenticators',
    'IA-8': 'Identification and Authentication (Non-organizational Users)',
    'IA-9': 'Service Identification and Authentication',
    'IA-11': 'Re-authentication',
    'IR-4': 'Incident Handling',
    'IR-5': 'Incident Monitoring',
    'SA-9': 'External System Services',
    'SC-8': 'Transmission Confidentiality and Integrity',
    'SC-23': 'Session Authenticity',
    'SI-4': 'System Monitoring',
    'SI-10': 'Information Input Validation',
  },
  controls: [
    { id: 'AC-3', metrics: [...AUDIENCE, 'expired_tokens_accepted'] },
    { id: 'AC-6', metrics: ['resource_indicator_coverage', 'multi_audience_token_share'] },
    { id: 'AC-12', metrics: ['expired_tokens_accepted', 'token_lifetime_p95_s'] },
    { id: 'AC-24', metrics: [...AUDIENCE] },
    { id: 'AU-2', metrics: ['logging_completeness'] },
    { id: 'AU-3', metrics: ['logging_completeness'] },
    { id: 'AU-6', metrics: ['token_presentations'] },
    { id: 'AU-6(3)', metrics: ['cross_audience_replays'] },
    { id: 'AU-12', metrics: ['logging_completeness'] },
    { id: 'CA-7', metrics: ['token_presentations', 'logging_completeness'] },
    { id: 'CM-2', metrics: [...DRIFT] },
    { id: 'CM-6', metrics: [...DRIFT] },
    { id: 'CM-8', metrics: [...DRIFT] },
    {
      id: 'IA-2(8)',
      metrics: ['proof_of_possession_coverage', 'unproven_bound_presentations'],
      note: 'Replay resistance of token use: a bearer token replays as it is; a DPoP proof (one `jti`, `iat`, `htm`, `htu`) or a certificate-bound token does not. Interpretive: IA-2 names organizational users; here the accounts are the ones the tokens act for.',
    },
    { id: 'IA-5', metrics: [...LIFETIME, 'expired_tokens_accepted'] },
    { id: 'IA-9', metrics: [...AUDIENCE] },
    { id: 'IA-11', metrics: ['token_lifetime_p95_s'] },
    { id: 'IR-4', metrics: ['token_presentations'] },
    { id: 'IR-5', metrics: ['token_presentations'] },
    {
      id: 'SC-23',
      metrics: [
        'accepted_mismatches',
        'expired_tokens_accepted',
        'cross_audience_replays',
        ...SENDER,
      ],
    },
    { id: 'SI-4', metrics: ['token_presentations', 'logging_completeness'] },
    { id: 'SI-10', metrics: ['logging_completeness'] },
  ],
  notes: `Enhancements are written \`AC-6(9)\`, as the catalog writes them. Revision 5 renamed AU-2 from
"Audit Events" to "Event Logging". Titles checked against consistent secondary lists; the
machine-readable catalog (OSCAL, https://github.com/usnistgov/oscal-content) is the reference to
recheck them against.

Sender-constrained tokens (DPoP, RFC 9449; mTLS-bound, RFC 8705): no control of Revision 5 names
them. SC-23 (Session Authenticity, "Protect the authenticity of communications sessions"; its
discussion names session hijacking) carries the bound-token share, the proof-of-possession coverage
and the bound tokens accepted without proof. IA-2(8) ("Implement replay-resistant authentication
mechanisms for access to" privileged or non-privileged accounts; its discussion names nonces and
challenges) carries the proof coverage and the unproven presentations; dpop-proof-replay,
bound-token-downgrade and proof-key-mismatch map to it. IA-2(6) (Access to Accounts — Separate
Device) is about a second factor on a separate device, not about binding tokens, and is not mapped.`,
})
