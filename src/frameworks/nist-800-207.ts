/**
 * NIST SP 800-207 §2.1 zero-trust tenets (docs/spec/frameworks.md): ids are `tenet-N`, titles the
 * tenet's first sentence. Tenet 3's last sentence is the zero-trust statement of audience
 * restriction.
 */
import { defineFramework } from './framework.js'

export default defineFramework({
  id: 'nist-800-207',
  title: 'NIST SP 800-207 Zero Trust Architecture, §2.1 tenets',
  order: 50,
  label: 'NIST SP 800-207, Zero Trust Architecture',
  source: {
    title: 'NIST SP 800-207, Zero Trust Architecture',
    publisher: 'National Institute of Standards and Technology',
    version: 'August 2020',
    url: 'https://doi.org/10.6028/NIST.SP.800-207',
  },
  mapping: { key: 'nist_800_207', label: 'NIST SP 800-207 tenets' },
  ids: {
    'tenet-1': 'All data sources and computing services are considered resources.',
    'tenet-2': 'All communication is secured regardless of network location.',
    'tenet-3': 'Access to individual enterprise resources is granted on a per-session basis.',
    'tenet-4':
      'Access to resources is determined by dynamic policy—including the observable state of client identity, application/service, and the requesting asset—and may include other behavioral and environmental attributes.',
    'tenet-5':
      'The enterprise monitors and measures the integrity and security posture of all owned and associated assets.',
    'tenet-6':
      'All resource authentication and authorization are dynamic and strictly enforced before access is allowed.',
    'tenet-7':
      'The enterprise collects as much information as possible about the current state of assets, network infrastructure and communications and uses it to improve its security posture.',
  },
  controls: [
    { id: 'tenet-1', metrics: ['drifted_resources'] },
    {
      id: 'tenet-3',
      metrics: [
        'aud_validation_coverage',
        'accepted_mismatches',
        'resource_indicator_coverage',
        'multi_audience_token_share',
        'token_lifetime_p95_s',
      ],
    },
    { id: 'tenet-4', metrics: ['token_presentations'] },
    {
      id: 'tenet-6',
      metrics: [
        'aud_validation_coverage',
        'accepted_mismatches',
        'expired_tokens_accepted',
        'proof_of_possession_coverage',
        'unproven_bound_presentations',
      ],
    },
    { id: 'tenet-7', metrics: ['logging_completeness', 'token_presentations'] },
  ],
  preface: `Section 2.1 numbers its seven tenets; audtrail's ids are \`tenet-N\` for the N-th, and the title is
the tenet's first sentence.`,
  notes: `Tenet 3 goes on: "Trust in the requester is evaluated before the access is granted. Access should
also be granted with the least privileges needed to complete the task. … However, authentication
and authorization to one resource will not automatically grant access to a different resource."
That last sentence is the zero-trust statement of audience restriction. Tenet wording checked
against consistent transcriptions of section 2.1.

Sender-constrained tokens: no tenet names them. Tenet 6 (authentication "strictly enforced before
access is allowed") carries the proof-of-possession coverage and the bound tokens accepted without
proof: a bound token accepted without its proof is authentication not enforced.`,
})
