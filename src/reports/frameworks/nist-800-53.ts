/** NIST SP 800-53 Rev. 5: the controls audtrail gives evidence for, with their titles (docs/spec/frameworks.md). */
import { mappedFramework } from '../control.js'

const AUDIENCE = ['aud_validation_coverage', 'accepted_mismatches'] as const
const LIFETIME = ['token_lifetime_p50_s', 'token_lifetime_p95_s'] as const
const DRIFT = ['drifted_resources'] as const

export const nist80053 = mappedFramework(
  {
    id: 'nist-800-53r5',
    title: 'NIST SP 800-53 Rev. 5',
    source: {
      title:
        'NIST SP 800-53 Rev. 5, Security and Privacy Controls for Information Systems and Organizations',
      publisher: 'National Institute of Standards and Technology',
      version: 'Revision 5, September 2020',
      url: 'https://doi.org/10.6028/NIST.SP.800-53r5',
    },
  },
  'nist_800_53',
  [
    {
      id: 'AC-3',
      title: 'Access Enforcement',
      metrics: [...AUDIENCE, 'expired_tokens_accepted'],
    },
    {
      id: 'AC-6',
      title: 'Least Privilege',
      metrics: ['resource_indicator_coverage', 'multi_audience_token_share'],
    },
    {
      id: 'AC-12',
      title: 'Session Termination',
      metrics: ['expired_tokens_accepted', 'token_lifetime_p95_s'],
    },
    { id: 'AC-24', title: 'Access Control Decisions', metrics: [...AUDIENCE] },
    { id: 'AU-2', title: 'Event Logging', metrics: ['logging_completeness'] },
    { id: 'AU-3', title: 'Content of Audit Records', metrics: ['logging_completeness'] },
    {
      id: 'AU-6',
      title: 'Audit Record Review, Analysis, and Reporting',
      metrics: ['token_presentations'],
    },
    {
      id: 'AU-6(3)',
      title: 'Correlate Audit Record Repositories',
      metrics: ['cross_audience_replays'],
    },
    { id: 'AU-12', title: 'Audit Record Generation', metrics: ['logging_completeness'] },
    {
      id: 'CA-7',
      title: 'Continuous Monitoring',
      metrics: ['token_presentations', 'logging_completeness'],
    },
    { id: 'CM-2', title: 'Baseline Configuration', metrics: [...DRIFT] },
    { id: 'CM-6', title: 'Configuration Settings', metrics: [...DRIFT] },
    { id: 'CM-8', title: 'System Component Inventory', metrics: [...DRIFT] },
    {
      id: 'IA-5',
      title: 'Authenticator Management',
      metrics: [...LIFETIME, 'expired_tokens_accepted'],
    },
    { id: 'IA-9', title: 'Service Identification and Authentication', metrics: [...AUDIENCE] },
    { id: 'IA-11', title: 'Re-authentication', metrics: ['token_lifetime_p95_s'] },
    { id: 'IR-4', title: 'Incident Handling', metrics: ['token_presentations'] },
    { id: 'IR-5', title: 'Incident Monitoring', metrics: ['token_presentations'] },
    {
      id: 'SC-23',
      title: 'Session Authenticity',
      metrics: ['accepted_mismatches', 'expired_tokens_accepted', 'cross_audience_replays'],
    },
    {
      id: 'SI-4',
      title: 'System Monitoring',
      metrics: ['token_presentations', 'logging_completeness'],
    },
    {
      id: 'SI-10',
      title: 'Information Input Validation',
      metrics: ['logging_completeness'],
    },
  ],
)
