/** The rule registry: every rule of the catalog (docs/spec/rule-catalog.md), explicitly listed. */
import type { Rule } from '../rule.js'
import { audMismatchAccepted } from './aud-mismatch-accepted.js'
import { audMismatchRejected } from './aud-mismatch-rejected.js'
import { boundTokenDowngrade } from './bound-token-downgrade.js'
import { clientIdMultipleIssuers } from './client-id-multiple-issuers.js'
import { crossAudienceReplay } from './cross-audience-replay.js'
import { delegationChainViolation } from './delegation-chain-violation.js'
import { dpopHtuMismatch } from './dpop-htu-mismatch.js'
import { dpopProofReplay } from './dpop-proof-replay.js'
import { expiredTokenAccepted } from './expired-token-accepted.js'
import { grantedAudMismatch } from './granted-aud-mismatch.js'
import { longLivedToken } from './long-lived-token.js'
import { mcpToolHeaderMismatch } from './mcp-tool-header-mismatch.js'
import { mcpUnvalidatedHeaders } from './mcp-unvalidated-headers.js'
import { missingResourceIndicator } from './missing-resource-indicator.js'
import { multiAudienceToken } from './multi-audience-token.js'
import { newResourceForClient } from './new-resource-for-client.js'
import { overbroadAudience } from './overbroad-audience.js'
import { proofKeyMismatch } from './proof-key-mismatch.js'
import { resourceUriDrift } from './resource-uri-drift.js'
import { scopeNotValidForResource } from './scope-not-valid-for-resource.js'
import { senderBindingDropped } from './sender-binding-dropped.js'
import { tokenMultiSource } from './token-multi-source.js'
import { tokenPassthrough } from './token-passthrough.js'
import { tokenUsageSpike } from './token-usage-spike.js'
import { unvalidatedAudience } from './unvalidated-audience.js'

export const RULES: readonly Rule[] = [
  audMismatchAccepted,
  audMismatchRejected,
  crossAudienceReplay,
  multiAudienceToken,
  overbroadAudience,
  resourceUriDrift,
  missingResourceIndicator,
  grantedAudMismatch,
  expiredTokenAccepted,
  unvalidatedAudience,
  longLivedToken,
  scopeNotValidForResource,
  tokenMultiSource,
  newResourceForClient,
  tokenUsageSpike,
  mcpToolHeaderMismatch,
  mcpUnvalidatedHeaders,
  tokenPassthrough,
  delegationChainViolation,
  clientIdMultipleIssuers,
  // Sender-constrained tokens (DPoP, RFC 9449; mTLS, RFC 8705)
  boundTokenDowngrade,
  dpopProofReplay,
  proofKeyMismatch,
  dpopHtuMismatch,
  senderBindingDropped,
]
