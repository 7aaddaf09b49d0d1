/** NIST CSF 2.0 (CSWP 29): the subcategories audtrail gives evidence for, with their outcome text (docs/spec/frameworks.md). */
import { mappedFramework } from '../control.js'

const AUDIENCE = ['aud_validation_coverage', 'accepted_mismatches'] as const
const MONITORING = ['token_presentations', 'logging_completeness'] as const

export const nistCsf = mappedFramework(
  {
    id: 'nist-csf-2.0',
    title: 'NIST Cybersecurity Framework (CSF) 2.0',
    source: {
      title: 'NIST CSWP 29, The NIST Cybersecurity Framework (CSF) 2.0',
      publisher: 'National Institute of Standards and Technology',
      version: 'February 26, 2024',
      url: 'https://doi.org/10.6028/NIST.CSWP.29',
    },
  },
  'nist_csf',
  [
    {
      id: 'ID.AM-02',
      title:
        'Inventories of software, services, and systems managed by the organization are maintained',
      metrics: ['drifted_resources'],
    },
    {
      id: 'ID.AM-03',
      title:
        "Representations of the organization's authorized network communication and internal and external network data flows are maintained",
      metrics: ['drifted_resources'],
    },
    {
      id: 'PR.AA-01',
      title:
        'Identities and credentials for authorized users, services, and hardware are managed by the organization',
      metrics: ['token_lifetime_p50_s', 'token_lifetime_p95_s'],
    },
    {
      id: 'PR.AA-03',
      title: 'Users, services, and hardware are authenticated',
      metrics: [...AUDIENCE, 'expired_tokens_accepted'],
    },
    {
      id: 'PR.AA-04',
      title: 'Identity assertions are protected, conveyed, and verified',
      metrics: [...AUDIENCE, 'expired_tokens_accepted', 'resource_indicator_coverage'],
    },
    {
      id: 'PR.AA-05',
      title:
        'Access permissions, entitlements, and authorizations are defined in a policy, managed, enforced, and reviewed, and incorporate the principles of least privilege and separation of duties',
      metrics: [...AUDIENCE, 'resource_indicator_coverage', 'multi_audience_token_share'],
    },
    {
      id: 'PR.PS-01',
      title: 'Configuration management practices are established and applied',
      metrics: ['drifted_resources'],
    },
    {
      id: 'PR.PS-04',
      title: 'Log records are generated and made available for continuous monitoring',
      metrics: ['logging_completeness'],
      note: 'Cross-cutting in the mapping table: decided by logging completeness.',
    },
    {
      id: 'DE.CM-03',
      title:
        'Personnel activity and technology usage are monitored to find potentially adverse events',
      metrics: [...MONITORING],
    },
    {
      id: 'DE.CM-09',
      title:
        'Computing hardware and software, runtime environments, and their data are monitored to find potentially adverse events',
      metrics: [...MONITORING, 'cross_audience_replays'],
    },
    {
      id: 'DE.AE-02',
      title: 'Potentially adverse events are analyzed to better understand associated activities',
      metrics: ['token_presentations'],
    },
    {
      id: 'DE.AE-03',
      title: 'Information is correlated from multiple sources',
      metrics: ['token_presentations', 'cross_audience_replays'],
    },
    {
      id: 'DE.AE-06',
      title: 'Information on adverse events is provided to authorized staff and tools',
      metrics: ['token_presentations'],
    },
  ],
)
