/**
 * OWASP Top 10 Non-Human Identities Risks – 2025 (docs/spec/frameworks.md). No item names the
 * OAuth `aud` claim: the mappings to it are interpretive.
 */
import { defineFramework } from './framework.js'

export default defineFramework({
  id: 'owasp-nhi-2025',
  title: 'OWASP Top 10 Non-Human Identities Risks – 2025',
  order: 10,
  label: 'OWASP Top 10 Non-Human Identities Risks, 2025',
  source: {
    title: 'OWASP Top 10 Non-Human Identities Risks – 2025',
    publisher: 'OWASP Foundation',
    version: '2025',
    url: 'https://owasp.org/www-project-non-human-identities-top-10/2025/',
  },
  mapping: { key: 'owasp_nhi', label: 'OWASP NHI Top 10 (2025)' },
  ids: {
    'NHI1:2025': 'Improper Offboarding',
    'NHI2:2025': 'Secret Leakage',
    'NHI3:2025': 'Vulnerable Third-Party NHI',
    'NHI4:2025': 'Insecure Authentication',
    'NHI5:2025': 'Overprivileged NHI',
    'NHI6:2025': 'Insecure Cloud Deployment Configurations',
    'NHI7:2025': 'Long-Lived Secrets',
    'NHI8:2025': 'Environment Isolation',
    'NHI9:2025': 'NHI Reuse',
    'NHI10:2025': 'Human Use of NHI',
  },
  controls: [
    {
      id: 'NHI2:2025',
      metrics: [
        'cross_audience_replays',
        'token_presentations',
        'sender_constrained_token_share',
        'proof_of_possession_coverage',
      ],
    },
    {
      id: 'NHI4:2025',
      metrics: [
        'aud_validation_coverage',
        'accepted_mismatches',
        'expired_tokens_accepted',
        'resource_indicator_coverage',
        'unproven_bound_presentations',
      ],
    },
    { id: 'NHI5:2025', metrics: ['resource_indicator_coverage', 'multi_audience_token_share'] },
    {
      id: 'NHI6:2025',
      metrics: ['aud_validation_coverage', 'accepted_mismatches', 'drifted_resources'],
    },
    {
      id: 'NHI7:2025',
      metrics: ['token_lifetime_p50_s', 'token_lifetime_p95_s', 'expired_tokens_accepted'],
    },
    { id: 'NHI8:2025', metrics: ['multi_audience_token_share'] },
    { id: 'NHI9:2025', metrics: ['cross_audience_replays', 'multi_audience_token_share'] },
  ],
  notes: `Released in December 2024 as the 2025 edition. No item names the OAuth \`aud\` claim, so audtrail's
mappings to it are interpretive: NHI4 (its detail page names non-standard OAuth implementations),
NHI5 (overprivileged identities), NHI6 ("Validate tokens strictly, including issuer, audience, and
claims" among its preventions), NHI7 (tokens that live too long), NHI9 (one identity reused across
services), NHI2 (a token surfacing where it should not).

No item names sender-constrained tokens either. A leaked bound token is of no use without its key,
so NHI2 carries the bound-token share and the proof-of-possession coverage (informational); a bound
token accepted without its proof is authentication weaker than the credential, so NHI4 carries
that count, and bound-token-downgrade maps to NHI4. NHI7 (Long-Lived Secrets) stays with the
lifetimes: binding does not shorten a secret's life.`,
})
