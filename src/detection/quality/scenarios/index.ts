/**
 * The scenario families of the labeled corpus, explicitly listed: benign traffic first, then
 * attacks. A new family is one file in this folder and one line here (bench/README.md).
 */
import type { Family } from '../corpus.js'
import { attackCrossAudience } from './attack-cross-audience.js'
import { attackExpiredToken } from './attack-expired-token.js'
import { attackMissingResource } from './attack-missing-resource.js'
import { attackTokenReplay } from './attack-token-replay.js'
import { attackUsageSpike } from './attack-usage-spike.js'
import { benignMultiAudience } from './benign-multi-audience.js'
import { benignServiceFleets } from './benign-service-fleets.js'
import { benignTokenExchange } from './benign-token-exchange.js'
import { benignUserAgents } from './benign-user-agents.js'

export const FAMILIES: readonly Family[] = [
  benignUserAgents,
  benignServiceFleets,
  benignTokenExchange,
  benignMultiAudience,
  attackUsageSpike,
  attackTokenReplay,
  attackMissingResource,
  attackCrossAudience,
  attackExpiredToken,
]
