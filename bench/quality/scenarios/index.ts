/**
 * The scenario families of the labeled corpus, explicitly listed: benign traffic first, then
 * attacks. A new family is one file in this folder and one line here (bench/README.md).
 */
import type { Family } from '../corpus.js'
import { attackCrossAudience } from './attack-cross-audience.js'
import { attackExpiredToken } from './attack-expired-token.js'
import { attackMissingResource } from './attack-missing-resource.js'
import { attackClientIdOtherIssuer } from './attack-client-id-other-issuer.js'
import { attackDelegationAbuse } from './attack-delegation-abuse.js'
import { attackLongLivedToken } from './attack-long-lived-token.js'
import { attackMcpHeaderSmuggling } from './attack-mcp-header-smuggling.js'
import { attackMultiAudience } from './attack-multi-audience.js'
import { attackOverbroadAudience } from './attack-overbroad-audience.js'
import { attackResourceDrift } from './attack-resource-drift.js'
import { attackSenderConstraint } from './attack-sender-constraint.js'
import { attackStrayScope } from './attack-stray-scope.js'
import { attackTokenPassthrough } from './attack-token-passthrough.js'
import { attackTokenPassthroughFirstCall } from './attack-token-passthrough-first-call.js'
import { attackUnrequestedAudience } from './attack-unrequested-audience.js'
import { benignCimdClients } from './benign-cimd-clients.js'
import { benignMcp2026Clients } from './benign-mcp-2026-clients.js'
import { benignMcpDelegation } from './benign-mcp-delegation.js'
import { attackTokenReplay } from './attack-token-replay.js'
import { attackUsageSpike } from './attack-usage-spike.js'
import { attackUsageSpikeShortHistory } from './attack-usage-spike-short-history.js'
import { attackUsageSpikeStraddling } from './attack-usage-spike-straddling.js'
import { benignBurstySessions } from './benign-bursty-sessions.js'
import { benignMultiAudience } from './benign-multi-audience.js'
import { benignNetworkChanges } from './benign-network-changes.js'
import { benignServiceFleets } from './benign-service-fleets.js'
import { benignStraddlingSessions } from './benign-straddling-sessions.js'
import { benignTokenExchange } from './benign-token-exchange.js'
import { benignUserAgents } from './benign-user-agents.js'

export const FAMILIES: readonly Family[] = [
  benignUserAgents,
  benignServiceFleets,
  benignTokenExchange,
  benignMultiAudience,
  benignMcpDelegation,
  benignMcp2026Clients,
  benignCimdClients,
  benignBurstySessions,
  benignStraddlingSessions,
  benignNetworkChanges,
  attackUsageSpike,
  attackUsageSpikeShortHistory,
  attackUsageSpikeStraddling,
  attackTokenReplay,
  attackMissingResource,
  attackCrossAudience,
  attackExpiredToken,
  attackTokenPassthrough,
  attackTokenPassthroughFirstCall,
  attackMcpHeaderSmuggling,
  attackDelegationAbuse,
  attackClientIdOtherIssuer,
  attackUnrequestedAudience,
  attackOverbroadAudience,
  attackMultiAudience,
  attackResourceDrift,
  attackLongLivedToken,
  attackStrayScope,
  attackSenderConstraint,
]
