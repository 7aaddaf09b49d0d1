/** NIST CSF 2.0 (CSWP 29): subcategories with their outcome text as titles (docs/spec/frameworks.md). */
import { defineFramework } from './framework.js'

const AUDIENCE = ['aud_validation_coverage', 'accepted_mismatches'] as const
const MONITORING = ['token_presentations', 'logging_completeness'] as const

export default defineFramework({
  id: 'nist-csf-2.0',
  title: 'NIST Cybersecurity Framework (CSF) 2.0',
  order: 30,
  label: 'NIST Cybersecurity Framework 2.0 (CSWP 29)',
  source: {
    title: 'NIST CSWP 29, The NIST Cybersecurity Framework (CSF) 2.0',
    publisher: 'National Institute of Standards and Technology',
    version: 'February 26, 2024',
    url: 'https://doi.org/10.6028/NIST.CSWP.29',
  },
  mapping: { key: 'nist_csf', label: 'NIST CSF 2.0' },
  ids: {
    'ID.AM-01': 'Inventories of hardware managed by the organization are maintained',
    'ID.AM-02':
      'Inventories of software, services, and systems managed by the organization are maintained',
    'ID.AM-03':
      "Representations of the organization's authorized network communication and internal and external network data flows are maintained",
    'ID.AM-04': 'Inventories of services provided by suppliers are maintained',
    'ID.AM-07':
      'Inventories of data and corresponding metadata for designated data types are maintained',
    'ID.AM-08':
      'Systems, hardware, software, services, and data are managed throughout their life cycles',
    'ID.RA-01': 'Vulnerabilities in assets are identified, validated, and recorded',
    'ID.RA-07':
      'Changes and exceptions are managed, assessed for risk impact, recorded, and tracked',
    'PR.AA-01':
      'Identities and credentials for authorized users, services, and hardware are managed by the organization',
    'PR.AA-02':
      'Identities are proofed and bound to credentials based on the context of interactions',
    'PR.AA-03': 'Users, services, and hardware are authenticated',
    'PR.AA-04': 'Identity assertions are protected, conveyed, and verified',
    'PR.AA-05':
      'Access permissions, entitlements, and authorizations are defined in a policy, managed, enforced, and reviewed, and incorporate the principles of least privilege and separation of duties',
    'PR.AA-06':
      'Physical access to assets is managed, monitored, and enforced commensurate with risk',
    'PR.PS-01': 'Configuration management practices are established and applied',
    'PR.PS-04': 'Log records are generated and made available for continuous monitoring',
    'PR.IR-01':
      'Networks and environments are protected from unauthorized logical access and usage',
    'DE.CM-01': 'Networks and network services are monitored to find potentially adverse events',
    'DE.CM-03':
      'Personnel activity and technology usage are monitored to find potentially adverse events',
    'DE.CM-06':
      'External service provider activities and services are monitored to find potentially adverse events',
    'DE.CM-09':
      'Computing hardware and software, runtime environments, and their data are monitored to find potentially adverse events',
    'DE.AE-02':
      'Potentially adverse events are analyzed to better understand associated activities',
    'DE.AE-03': 'Information is correlated from multiple sources',
    'DE.AE-04': 'The estimated impact and scope of adverse events are understood',
    'DE.AE-06': 'Information on adverse events is provided to authorized staff and tools',
    'DE.AE-07':
      'Cyber threat intelligence and other contextual information are integrated into the analysis',
    'DE.AE-08': 'Incidents are declared when adverse events meet the defined incident criteria',
    'RS.MA-02': 'Incident reports are triaged and validated',
    'RS.MA-03': 'Incidents are categorized and prioritized',
  },
  controls: [
    { id: 'ID.AM-02', metrics: ['drifted_resources'] },
    { id: 'ID.AM-03', metrics: ['drifted_resources'] },
    { id: 'PR.AA-01', metrics: ['token_lifetime_p50_s', 'token_lifetime_p95_s'] },
    {
      id: 'PR.AA-03',
      metrics: [...AUDIENCE, 'expired_tokens_accepted', 'unproven_bound_presentations'],
    },
    {
      id: 'PR.AA-04',
      metrics: [
        ...AUDIENCE,
        'expired_tokens_accepted',
        'resource_indicator_coverage',
        'sender_constrained_token_share',
        'proof_of_possession_coverage',
        'unproven_bound_presentations',
      ],
    },
    {
      id: 'PR.AA-05',
      metrics: [...AUDIENCE, 'resource_indicator_coverage', 'multi_audience_token_share'],
    },
    { id: 'PR.PS-01', metrics: ['drifted_resources'] },
    {
      id: 'PR.PS-04',
      metrics: ['logging_completeness'],
      note: 'Cross-cutting in the mapping table: decided by logging completeness.',
    },
    { id: 'DE.CM-03', metrics: [...MONITORING] },
    { id: 'DE.CM-09', metrics: [...MONITORING, 'cross_audience_replays'] },
    { id: 'DE.AE-02', metrics: ['token_presentations'] },
    { id: 'DE.AE-03', metrics: ['token_presentations', 'cross_audience_replays'] },
    { id: 'DE.AE-06', metrics: ['token_presentations'] },
  ],
  preface: `Titles are the subcategories' outcome text, as the CSF 2.0 Core writes them.`,
  notes: `CSF 2.0 ids are zero-padded (\`PR.AA-01\`); CSF 1.1 ids are not (\`PR.AC-1\`). The CSF 1.1 category
PR.AC does not exist in CSF 2.0 (its outcomes moved to PR.AA and PR.IR), so a mapping to \`PR.AC-*\`
is always a mistake. Outcome text checked against consistent transcriptions of the Core.

Sender-constrained tokens: PR.AA-04 (identity assertions protected, conveyed and verified; its
implementation examples ask for standards-based protection and verification of assertions)
carries the bound-token share, the proof-of-possession coverage and the bound tokens accepted
without proof; PR.AA-03 (authentication) the last. CSF 2.0 recommends outcomes and requires no
mechanism, so the two shares are informational unless a threshold is configured.`,
})
