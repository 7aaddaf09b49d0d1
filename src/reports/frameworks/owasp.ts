/**
 * OWASP Top 10 Non-Human Identities Risks 2025 and OWASP Top 10 for Agentic Applications 2026:
 * the items audtrail's rules map to, with ids and titles as OWASP writes them (catalogued with
 * their sources in docs/spec/frameworks.md). The OWASP mappings are interpretive: no NHI item
 * names `aud`.
 */
import { mappedFramework } from '../control.js'

export const owaspNhi = mappedFramework(
  {
    id: 'owasp-nhi-2025',
    title: 'OWASP Top 10 Non-Human Identities Risks – 2025',
    source: {
      title: 'OWASP Top 10 Non-Human Identities Risks – 2025',
      publisher: 'OWASP Foundation',
      version: '2025',
      url: 'https://owasp.org/www-project-non-human-identities-top-10/2025/',
    },
  },
  'owasp_nhi',
  [
    {
      id: 'NHI2:2025',
      title: 'Secret Leakage',
      metrics: ['cross_audience_replays', 'token_presentations'],
    },
    {
      id: 'NHI4:2025',
      title: 'Insecure Authentication',
      metrics: [
        'aud_validation_coverage',
        'accepted_mismatches',
        'expired_tokens_accepted',
        'resource_indicator_coverage',
      ],
    },
    {
      id: 'NHI5:2025',
      title: 'Overprivileged NHI',
      metrics: ['resource_indicator_coverage', 'multi_audience_token_share'],
    },
    {
      id: 'NHI6:2025',
      title: 'Insecure Cloud Deployment Configurations',
      metrics: ['aud_validation_coverage', 'accepted_mismatches', 'drifted_resources'],
    },
    {
      id: 'NHI7:2025',
      title: 'Long-Lived Secrets',
      metrics: ['token_lifetime_p50_s', 'token_lifetime_p95_s', 'expired_tokens_accepted'],
    },
    {
      id: 'NHI8:2025',
      title: 'Environment Isolation',
      metrics: ['multi_audience_token_share'],
    },
    {
      id: 'NHI9:2025',
      title: 'NHI Reuse',
      metrics: ['cross_audience_replays', 'multi_audience_token_share'],
    },
  ],
)

export const owaspAsi = mappedFramework(
  {
    id: 'owasp-asi-2026',
    title: 'OWASP Top 10 for Agentic Applications 2026',
    source: {
      title: 'OWASP Top 10 for Agentic Applications 2026',
      publisher: 'OWASP GenAI Security Project',
      version: 'December 2025',
      url: 'https://genai.owasp.org/resource/owasp-top-10-for-agentic-applications-for-2026/',
    },
  },
  'owasp_asi',
  [
    {
      id: 'ASI02',
      title: 'Tool Misuse and Exploitation',
      metrics: ['logging_completeness', 'token_presentations'],
    },
    {
      id: 'ASI03',
      title: 'Identity and Privilege Abuse',
      metrics: [
        'aud_validation_coverage',
        'accepted_mismatches',
        'expired_tokens_accepted',
        'resource_indicator_coverage',
        'multi_audience_token_share',
        'token_lifetime_p95_s',
      ],
    },
    {
      id: 'ASI07',
      title: 'Insecure Inter-Agent Communication',
      metrics: ['cross_audience_replays'],
    },
    { id: 'ASI08', title: 'Cascading Failures', metrics: ['token_presentations'] },
    { id: 'ASI10', title: 'Rogue Agents', metrics: ['token_presentations'] },
  ],
)
