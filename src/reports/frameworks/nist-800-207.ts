/**
 * NIST SP 800-207 §2.1 zero-trust tenets (docs/spec/frameworks.md), with the tenet's first
 * sentence as its title; ids are `tenet-N` as in the rules' mappings. Tenet 3's last sentence is
 * the zero-trust statement of audience restriction.
 */
import { mappedFramework } from '../control.js'

export const nist800207 = mappedFramework(
  {
    id: 'nist-800-207',
    title: 'NIST SP 800-207 Zero Trust Architecture, §2.1 tenets',
    source: {
      title: 'NIST SP 800-207, Zero Trust Architecture',
      publisher: 'National Institute of Standards and Technology',
      version: 'August 2020',
      url: 'https://doi.org/10.6028/NIST.SP.800-207',
    },
  },
  'nist_800_207',
  [
    {
      id: 'tenet-1',
      title: 'All data sources and computing services are considered resources.',
      metrics: ['drifted_resources'],
    },
    {
      id: 'tenet-3',
      title: 'Access to individual enterprise resources is granted on a per-session basis.',
      metrics: [
        'aud_validation_coverage',
        'accepted_mismatches',
        'resource_indicator_coverage',
        'multi_audience_token_share',
        'token_lifetime_p95_s',
      ],
    },
    {
      id: 'tenet-4',
      title:
        'Access to resources is determined by dynamic policy—including the observable state of client identity, application/service, and the requesting asset—and may include other behavioral and environmental attributes.',
      metrics: ['token_presentations'],
    },
    {
      id: 'tenet-6',
      title:
        'All resource authentication and authorization are dynamic and strictly enforced before access is allowed.',
      metrics: ['aud_validation_coverage', 'accepted_mismatches', 'expired_tokens_accepted'],
    },
    {
      id: 'tenet-7',
      title:
        'The enterprise collects as much information as possible about the current state of assets, network infrastructure and communications and uses it to improve its security posture.',
      metrics: ['logging_completeness', 'token_presentations'],
    },
  ],
)
