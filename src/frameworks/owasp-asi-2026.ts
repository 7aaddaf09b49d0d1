/**
 * OWASP Top 10 for Agentic Applications 2026 (docs/spec/frameworks.md): ASI03 is audtrail's
 * primary item; ASI02 and ASI07 cover tools and agents forwarding tokens.
 */
import { defineFramework } from './framework.js'

export default defineFramework({
  id: 'owasp-asi-2026',
  title: 'OWASP Top 10 for Agentic Applications 2026',
  order: 20,
  label: 'OWASP Top 10 for Agentic Applications, 2026',
  source: {
    title: 'OWASP Top 10 for Agentic Applications 2026',
    publisher: 'OWASP GenAI Security Project',
    version: 'December 2025',
    url: 'https://genai.owasp.org/resource/owasp-top-10-for-agentic-applications-for-2026/',
  },
  mapping: { key: 'owasp_asi', label: 'OWASP Agentic Top 10 (2026)' },
  ids: {
    ASI01: 'Agent Goal Hijack',
    ASI02: 'Tool Misuse and Exploitation',
    ASI03: 'Identity and Privilege Abuse',
    ASI04: 'Agentic Supply Chain Vulnerabilities',
    ASI05: 'Unexpected Code Execution (RCE)',
    ASI06: 'Memory and Context Poisoning',
    ASI07: 'Insecure Inter-Agent Communication',
    ASI08: 'Cascading Failures',
    ASI09: 'Human-Agent Trust Exploitation',
    ASI10: 'Rogue Agents',
  },
  controls: [
    { id: 'ASI02', metrics: ['logging_completeness', 'token_presentations'] },
    {
      id: 'ASI03',
      metrics: [
        'aud_validation_coverage',
        'accepted_mismatches',
        'expired_tokens_accepted',
        'resource_indicator_coverage',
        'multi_audience_token_share',
        'token_lifetime_p95_s',
        'sender_constrained_token_share',
        'proof_of_possession_coverage',
        'unproven_bound_presentations',
      ],
    },
    { id: 'ASI07', metrics: ['cross_audience_replays'] },
    { id: 'ASI08', metrics: ['token_presentations'] },
    { id: 'ASI10', metrics: ['token_presentations'] },
  ],
  notes: `Published by the project's Agentic Security Initiative on 9 December 2025. The documents also
write the ids as \`ASI0n:2026\`; audtrail uses the short form. Checked against several independent
transcriptions, not the PDF itself: some write "&" for "and" (for example "Tool Misuse &
Exploitation"). Early drafts used other numbering and names (such as "Agent Behaviour Hijack");
those are never cited. ASI03 is audtrail's primary item (confused deputy, credential and token
mismanagement, delegated-privilege abuse); ASI02 and ASI07 cover tools and agents forwarding
tokens. ASI03 also carries the sender-constraint metrics (bound-token share and proof-of-possession
coverage informational, bound tokens accepted without proof against zero): no item requires
sender-constrained tokens, and a token an agent leaks or forwards is only usable elsewhere when it
is not bound.`,
})
